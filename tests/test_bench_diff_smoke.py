"""The diff benchmark runs end to end on small streams and prints every figure."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_diff_benchmark_runs_and_reports_its_ratios() -> None:
    """``bench_diff.py`` on 600 frames finds the one planted difference in every mode and with
    user rules, and prints the ratios (no timing is asserted: the numbers only mean something
    on a quiet machine)."""
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "bench_diff.py"),
            "--frames",
            "600",
            "--naive-max",
            "600",
            "--repeats",
            "1",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert result.stderr == ""
    out = result.stdout
    assert re.search(r"600 frames \(\d+% messages\)", out), out
    assert re.search(r"diff \* / parse +\d+\.\d+x", out), out
    assert re.search(r"diff \* \+3 rules / parse +\d+\.\d+x", out), out
    assert re.search(r"diff updates / diff \* +\d+\.\d+x", out), out
    assert re.search(r"DeepDiff / diff \* +\d+\.\d+x", out), out
    assert re.search(r"DeepDiff masked / diff \* +\d+\.\d+x", out), out
    assert re.search(r"targets: (met|MISSED)", out), out
