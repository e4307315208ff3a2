"""``stream_snapshot``: syrupy snapshots of streams, masked and readable, ``--snapshot-update``."""

from __future__ import annotations

from pathlib import Path

import pytest
from langgraph_sdk.schema import StreamPart
from plugin_helpers import copy_cassettes, write_suite
from streamcassette_pytest._syrupy import HEADER, render_stream

from streamcassette import SSEFrame

pytest_plugins = ["pytester"]

SNAPSHOT_TEST = """
import pytest

@pytest.mark.stream_cassette({marker})
def test_sync_client(langgraph_sync_client, stream_snapshot):
    thread = langgraph_sync_client.threads.create()
    parts = list(
        langgraph_sync_client.runs.stream(
            thread["thread_id"], "joke", input={{"topic": "ice cream"}}, stream_mode="updates"
        )
    )
    assert parts == stream_snapshot
"""

EXPECTED = f"""{HEADER}

event: metadata
{{
  "run_id": "<uuid:1>",
  "attempt": 1
}}

event: updates
{{
  "refine_topic": {{
    "topic": "ice cream and cats"
  }}
}}

event: updates
{{
  "generate_joke": {{
    "joke": "This is a joke about ice cream and cats"
  }}
}}
"""


def _snapshot_file(pytester: pytest.Pytester) -> Path:
    return pytester.path / "__snapshots__" / "test_jokes" / "test_sync_client.stream.txt"


def test_snapshot_update_writes_the_masked_stream_then_compares(
    pytester: pytest.Pytester, recorded_suite: Path
):
    """``--snapshot-update`` stores the stream readably with ids masked; later runs compare it."""
    write_suite(pytester, guard=True)
    copy_cassettes(recorded_suite, pytester)
    pytester.makepyfile(test_jokes=SNAPSHOT_TEST.format(marker=""))

    result = pytester.runpytest("--snapshot-update")

    result.assert_outcomes(passed=1)
    assert _snapshot_file(pytester).read_text() == EXPECTED

    pytester.runpytest().assert_outcomes(passed=1)

    _snapshot_file(pytester).write_text(EXPECTED.replace("and cats", "and dogs"))
    result = pytester.runpytest()

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*[[]+ received[]] == [[]- snapshot[]]*",
            '*-     "topic": "ice cream and dogs"*',
            '*+     "topic": "ice cream and cats"*',
        ]
    )


def test_marker_mask_rules_apply_to_the_snapshot(pytester: pytest.Pytester, recorded_suite: Path):
    """Mask rules of the test's marker are used by its stream snapshots."""
    write_suite(pytester, guard=True)
    copy_cassettes(recorded_suite, pytester)
    pytester.makepyfile(test_jokes=SNAPSHOT_TEST.format(marker='mask={"keys": ["joke"]}'))

    pytester.runpytest("--snapshot-update").assert_outcomes(passed=1)

    text = _snapshot_file(pytester).read_text()
    assert '"joke": "<joke:1>"' in text
    assert "This is a joke" not in text


def test_render_stream_reads_every_shape_of_part():
    """SDK parts, (event, data) pairs, dicts and raw SSE frames render the same way."""
    data = {"node": {"id": "0b3a4c2e-55f1-4d3c-9a4e-1f2e3d4c5b6a"}}
    frame = SSEFrame(
        event="updates", data='{"node": {"id": "0b3a4c2e-55f1-4d3c-9a4e-1f2e3d4c5b6a"}}'
    )
    shapes = [
        [StreamPart("updates", data)],
        [("updates", data)],
        [{"event": "updates", "data": data}],
        [frame],
    ]

    rendered = {render_stream(parts) for parts in shapes}

    assert rendered == {
        f'{HEADER}\n\nevent: updates\n{{\n  "node": {{\n    "id": "<uuid:1>"\n  }}\n}}\n'
    }


def test_render_stream_rejects_a_single_value():
    """A string or a dict is not a stream; the error says what to pass."""
    with pytest.raises(TypeError, match="needs a list of stream parts"):
        render_stream({"event": "updates"})
