"""The plugin benchmark runs end to end in its quick mode (no timing is asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_plugin.py"


def test_quick_benchmark_reports_each_suite_and_a_verdict():
    """``bench_plugin.py --quick`` exits 0 and prints every suite, the overheads and a verdict."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    for suite in ("baseline", "fixture", "marker"):
        assert any(line.split()[:1] == [suite] for line in lines), result.stdout
    assert any(line.startswith("plugin overhead (fixture): ") for line in lines)
    assert any(line.startswith("plugin overhead (marker): ") for line in lines)
    assert lines[-1] in ("target <= 2 ms per test: PASS", "target <= 2 ms per test: MISS")
