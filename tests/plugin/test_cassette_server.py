"""The ``cassette_server`` fixture: a folder of cassettes served for front-end tests."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from plugin_helpers import write_ini

pytest_plugins = ["pytester"]

BUNDLED = Path(__file__).parents[2] / "cassettes"

SERVED_TEST = """
import httpx
import pytest


@pytest.fixture
def cassette_server_source():
    return {folder!r}


@pytest.fixture
def cassette_server_speed():
    return None


def test_a_front_end_gets_the_recorded_run(cassette_server):
    with httpx.Client(base_url=cassette_server, trust_env=False) as http:
        listed = http.get("/cassettes").json()["cassettes"]
        assert sorted(c["cassette"] for c in listed) == ["joke"]
        run = listed[0]["runs"][0]
        thread = http.post("/threads", json={{}}).json()["thread_id"]
        body = {{"assistant_id": run["assistant_id"], "input": run["input"],
                 "stream_mode": run["stream_mode"]}}
        answer = http.post(f"/threads/{{thread}}/runs/stream", json=body)
        assert answer.status_code == 200
        assert answer.text.count("event: ") == run["frames"]
"""


def test_cassette_server_serves_a_folder_to_the_test(pytester: pytest.Pytester):
    """A test overriding the folder gets a URL that answers a recorded run, frame for frame."""
    write_ini(pytester)
    folder = pytester.path / "demo"
    folder.mkdir()
    shutil.copy(BUNDLED / "joke.json", folder / "joke.json")
    pytester.makepyfile(test_front_end=SERVED_TEST.format(folder=str(folder)))

    pytester.runpytest().assert_outcomes(passed=1)


def test_cassette_server_on_an_empty_folder_fails_naming_it(pytester: pytest.Pytester):
    """An empty folder fails the test with the folder named and the fix, no traceback."""
    write_ini(pytester)
    (pytester.path / "empty").mkdir()
    pytester.makepyfile(test_front_end=SERVED_TEST.format(folder=str(pytester.path / "empty")))

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*cassette_server: *empty: no cassettes (*.json)*record some*"])
    assert "Traceback" not in result.stdout.str()
