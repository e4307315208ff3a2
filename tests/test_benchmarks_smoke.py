"""The core benchmark runs end to end in its quick mode and reports every figure."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "benchmarks" / "bench_core.py"


def test_quick_benchmark_prints_every_figure_with_a_verdict() -> None:
    """``bench_core.py --quick`` exits 0 and prints each figure with PASS or MISS (no timing
    is asserted: the numbers only mean something in a full run on a quiet machine)."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    figures = [
        "replay 500 frames, load included (events/s)",
        "replay 2,000 frames, load included (events/s)",
        "time to first event while recording (ms, median)",
        "realtime replay (speed=1.0): gap between events",
        "cassette size, 500 frames (bytes)",
        "cassette size, 2,000 frames (bytes)",
    ]
    for bundled in sorted((REPO / "cassettes").glob("*.json")):
        figures += [
            f"cassette size, cassettes/{bundled.name}, whole file (bytes)",
            f"cassette size, cassettes/{bundled.name}, frames only (bytes)",
        ]
    for figure in figures:
        rows = [line for line in lines if line.startswith(figure)]
        assert len(rows) == 1, f"{figure!r} not printed once in:\n{result.stdout}"
        assert rows[0].endswith(("PASS", "MISS")), rows[0]
    # Each replay size is also timed with its frames embedded, for comparison only.
    comparisons = [
        line for line in lines if line.startswith("  same, frames embedded in the JSON (attach")
    ]
    assert len(comparisons) == 2, result.stdout
    assert all(line.endswith("(comparison)") for line in comparisons), comparisons
    assert result.stderr == "", result.stderr
