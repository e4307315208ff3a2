"""The v3 thread-stream benchmark runs end to end in its quick mode."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_quick_thread_benchmark_prints_its_figure_with_a_verdict() -> None:
    """``bench_threads.py --quick`` exits 0 and prints the replay figure with PASS or MISS
    (no timing is asserted: that means something only in a full run on a quiet machine)."""
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "bench_threads.py"), "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith("replay 500 v3")]
    assert len(rows) == 1, result.stdout
    assert rows[0].endswith(("PASS", "MISS"))
