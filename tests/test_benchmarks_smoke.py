"""The core and session benchmarks run end to end in their quick modes and report every
figure (no timing is asserted: the numbers only mean something in a full run on a quiet
machine)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def run_quick(script: str) -> list[str]:
    """The lines ``benchmarks/<script> --quick`` printed; it must exit 0, silent on stderr."""
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / script), "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stderr == "", result.stderr
    return result.stdout.splitlines()


def assert_verdicts(lines: list[str], figures: list[str]) -> None:
    """Each figure is printed once, ending with its verdict."""
    for figure in figures:
        rows = [line for line in lines if line.startswith(figure)]
        assert len(rows) == 1, f"{figure!r} not printed once in:\n" + "\n".join(lines)
        assert rows[0].endswith(("PASS", "MISS")), rows[0]


def test_quick_benchmark_prints_every_figure_with_a_verdict() -> None:
    """``bench_core.py --quick`` prints each figure with PASS or MISS."""
    lines = run_quick("bench_core.py")
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
    assert_verdicts(lines, figures)
    # Each replay size is also timed with its frames embedded, for comparison only.
    comparisons = [
        line for line in lines if line.startswith("  same, frames embedded in the JSON (attach")
    ]
    assert len(comparisons) == 2, lines
    assert all(line.endswith("(comparison)") for line in comparisons), comparisons


def test_quick_session_benchmark_prints_every_figure_with_a_verdict() -> None:
    """``bench_sessions.py --quick`` prints the recording, replay and interception figures
    with PASS or MISS, and their comparison rows with none."""
    lines = run_quick("bench_sessions.py")
    assert_verdicts(
        lines,
        [
            "record 500 frames through a session (ms)",
            "record 2,000 frames through a session (ms)",
            "replay 500 frames on the session clock (events/s)",
            "replay 2,000 frames on the session clock (events/s)",
            "intercepted replay: plain httpx.Client vs replay transport",
            "unclaimed host: recording session active vs none",
        ],
    )
    for comparison in (
        "  same, plus splitting the frames when first read (ms)",
        "  same, interactions without started (events/s)",
    ):
        rows = [line for line in lines if line.startswith(comparison)]
        assert len(rows) == 2, lines
        assert not any(row.endswith(("PASS", "MISS")) for row in rows), rows
