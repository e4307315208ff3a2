"""Instructions one ``diff_cassettes`` runs on ``bench_diff.py``'s recordings, counted by
callgrind: a figure to compare two versions of the masking code by, steady to the last
million from run to run where CPU time moves by a few percent.

Counts the script diffing the two recordings ``--times`` times and once, and prints the
difference per diff (so imports, building the recordings and the first diff's warm-up are
left out). Needs ``valgrind``; takes about a minute. Instructions are not time: confirm a
change with ``bench_diff.py``.

Run: ``.venv/bin/python benchmarks/diff_instructions.py [--mode '*'] [--times 2] [--root .]``
(``--root``: the source tree to import ``streamcassette`` from, e.g. an unpacked older
commit, to compare two versions.)
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

_RUN = """
import sys
root, mode, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
sys.path[:0] = [root, root + "/benchmarks"]
from bench_diff import cassette
import streamcassette
from streamcassette import diff_cassettes
assert streamcassette.__file__.startswith(root), streamcassette.__file__
recorded, live = cassette(10_000, id_seed=1, changed=False), cassette(10_000, 2, True)
for _ in range(times):
    diff_cassettes(recorded, live, modes=[mode])
"""


def instructions(root: Path, mode: str, times: int) -> int:
    """Instructions of the whole script, as callgrind counts them."""
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, "-c", _RUN, str(root), mode, str(times)]
    run = subprocess.run(command, capture_output=True, text=True, env=environment, check=False)
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or found is None:
        sys.exit(f"valgrind failed (exit {run.returncode}):\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mode", default="*")
    parser.add_argument("--times", type=int, default=2)
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is not installed (apt-get install valgrind)")
    root = args.root.resolve()
    once = instructions(root, args.mode, 1)
    more = instructions(root, args.mode, 1 + args.times)
    per_diff = (more - once) / args.times
    print(f"{root}: diff --mode {args.mode!r}: {per_diff / 1e6:.0f} M instructions per diff")
    return 0


if __name__ == "__main__":
    sys.exit(main())
