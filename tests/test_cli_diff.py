"""The diff, mask and learn commands, and the project settings they read."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from recorded_pairs import (
    add_provider_metadata,
    frames,
    pair,
    positions,
    recorded_pairs,
    rewrite,
)

from streamcassette import save
from streamcassette.cli import main

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@pytest.fixture(scope="session")
def pairs(langgraph_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return recorded_pairs(langgraph_url, tmp_path_factory.mktemp("pairs"))


def run(*args: str | Path) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def drifted(pairs: dict[str, Any], tmp_path: Path) -> tuple[Path, Path]:
    """The agent recording, and a copy where the 'action' node did not run."""
    _, live = pair(pairs, "agent")
    del frames(live)[positions(live, "updates")[1]]
    live_path = tmp_path / "live.json"
    save(live, live_path)
    return pairs["agent"][0], live_path


def test_diff_exits_0_when_equal_after_masking(pairs: dict[str, Any]) -> None:
    """Two recordings of the same requests: exit 0 and a one-line summary."""
    code, out, _ = run("diff", *pairs["agent"])
    assert code == 0
    assert out.endswith(
        "equal after masking: 1 stream, 3 frames compared (modes: updates; policy: exact)\n"
    )


def test_diff_exits_1_and_reports_in_langgraph_terms(drifted: tuple[Path, Path]) -> None:
    """Drift: exit 1, the node named, no colour codes when the output is not a terminal."""
    code, out, _ = run("diff", *drifted)
    assert code == 1
    assert "  node 'action' ran in the recording but not live (recorded frame " in out
    assert "\x1b[" not in out
    code, coloured, _ = run("diff", *drifted, "--color")
    assert code == 1
    assert "\x1b[1m" in coloured


def test_diff_json_for_tools(drifted: tuple[Path, Path]) -> None:
    """``--json`` prints the report as JSON with the same exit status."""
    code, out, _ = run("diff", *drifted, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["equal"] is False
    assert report["streams"][0]["differences"][0]["message"].startswith("node 'action' ran")


def test_diff_modes_and_policy(pairs: dict[str, Any], tmp_path: Path) -> None:
    """``--mode`` picks the events compared and ``--policy structure`` ignores wording."""
    _, live = pair(pairs, "agent")
    for position in positions(live, "values"):
        rewrite(
            live,
            position,
            lambda v: {**v, "messages": [{**m, "content": "x"} for m in v["messages"]]},
        )
    save(live, tmp_path / "live.json")
    assert run("diff", pairs["agent"][0], tmp_path / "live.json")[0] == 0
    code, out, _ = run("diff", pairs["agent"][0], tmp_path / "live.json", "--mode", "values")
    assert code == 1
    assert "state values: messages[0].content: \"what's the weather in la\" -> 'x'" in out
    args = ("--mode", "values", "--policy", "structure")
    assert run("diff", pairs["agent"][0], tmp_path / "live.json", *args)[0] == 0


def test_diff_refuses_unknown_modes_and_unreadable_files(
    pairs: dict[str, Any], tmp_path: Path
) -> None:
    """A bad mode or a broken cassette exits 2 (not 1, which means drift) and says why."""
    code, _, err = run("diff", *pairs["agent"], "--mode", "update")
    assert code == 2
    assert "unknown stream mode 'update'" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    code, _, err = run("diff", pairs["agent"][0], broken)
    assert code == 2
    assert str(broken) in err


def test_mask_prints_the_masked_stream(pairs: dict[str, Any]) -> None:
    """``mask`` shows the stream in SSE form with aliases and no raw ids."""
    code, out, _ = run("mask", pairs["agent"][0])
    assert code == 0
    assert "# interaction 1: POST /threads/<uuid:1>/runs/stream" in out
    assert '"tool_call_id":"<tool_call:1>"' in out
    assert not UUID.search(out)
    code, out, _ = run("mask", pairs["agent"][0], "--mode", "updates", "--json")
    events = json.loads(out)[0]["frames"]
    assert [frame["event"] for frame in events] == ["updates"] * 3
    code, _, err = run("mask", pairs["agent"][0], "--stream", "5")
    assert code == 2
    assert "has 1 streams (0 to 0); there is no stream 5" in err


def test_learn_writes_rules_that_make_diff_equal(pairs: dict[str, Any], tmp_path: Path) -> None:
    """``learn -o`` writes rules; ``diff --rules`` with them then exits 0."""
    recorded, live = pair(pairs, "agent")
    add_provider_metadata(recorded, seed=5)
    add_provider_metadata(live, seed=6)
    save(recorded, tmp_path / "a.json")
    save(live, tmp_path / "b.json")
    assert run("diff", tmp_path / "a.json", tmp_path / "b.json")[0] == 1
    code, out, err = run(
        "learn", tmp_path / "a.json", tmp_path / "b.json", "-o", tmp_path / "r.toml"
    )
    assert code == 0
    assert "[tool.streamcassette.mask]" in out
    assert '"agent.messages[*].response_metadata.id"' in out
    assert "learned 2 path rules" in err
    assert (tmp_path / "r.toml").read_text(encoding="utf-8") == out
    args = ("--rules", tmp_path / "r.toml")
    assert run("diff", tmp_path / "a.json", tmp_path / "b.json", *args)[0] == 0


def test_project_settings_come_from_pyproject(
    pairs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """[tool.streamcassette] in the nearest pyproject.toml sets the modes and the mask rules."""
    (tmp_path / "pyproject.toml").write_text(
        '[tool.streamcassette]\nmodes = ["values"]\n\n'
        '[tool.streamcassette.mask]\nkeys = [{key = "content", kind = "text"}]\n',
        encoding="utf-8",
    )
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    code, out, _ = run("diff", *pairs["agent"])
    assert code == 0
    assert "(modes: values; policy: exact)" in out
    code, out, _ = run("mask", pairs["agent"][0], "--mode", "values")
    assert '"content":"<text:1>"' in out


def test_unknown_setting_names_the_file_and_the_key(
    pairs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A typo in [tool.streamcassette] is an error naming the file and the key."""
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[tool.streamcassette]\nmode = ["values"]\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    code, _, err = run("diff", *pairs["agent"])
    assert code == 2
    assert f"{pyproject.resolve()}: unknown setting 'mode' in [tool.streamcassette]" in err


def test_settings_defaults_types_and_paths(tmp_path: Path) -> None:
    """No table gives defaults; values are checked; cassette-dir is relative to the file."""
    from streamcassette import ConfigError, MaskRules, load_config

    assert load_config(tmp_path).path is None
    (tmp_path / "pyproject.toml").write_text("[tool.other]\nx = 1\n", encoding="utf-8")
    assert load_config(tmp_path).mask == MaskRules.default()
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        '[tool.streamcassette]\ncassette_dir = "cassettes"\npolicy = "structure"\n',
        encoding="utf-8",
    )
    config = load_config(tmp_path)
    assert config.path == pyproject.resolve()
    assert config.cassette_dir == tmp_path.resolve() / "cassettes"
    assert config.policy == "structure"
    for body, message in [
        ('modes = "updates"', "modes must be a list of strings"),
        ('policy = "fuzzy"', "policy must be one of exact, structure"),
        ("[tool.streamcassette.mask]\nkeys = [1]", "mask.keys[0]: expected a string or a table"),
        ("modes = [", "not valid TOML"),
    ]:
        pyproject.write_text(f"[tool.streamcassette]\n{body}\n", encoding="utf-8")
        with pytest.raises(ConfigError, match=re.escape(message)) as raised:
            load_config(tmp_path)
        assert str(pyproject.resolve()) in str(raised.value)


def test_attach_setting_is_true_false_or_auto(tmp_path: Path) -> None:
    """`attach` is true, false or "auto" (None, the default); anything else names the key."""
    from streamcassette import ConfigError, load_config

    pyproject = tmp_path / "pyproject.toml"
    assert load_config(tmp_path).attach is None
    for body, expected in [("true", True), ("false", False), ('"auto"', None)]:
        pyproject.write_text(f"[tool.streamcassette]\nattach = {body}\n", encoding="utf-8")
        assert load_config(tmp_path).attach is expected, body
    pyproject.write_text('[tool.streamcassette]\npolicy = "exact"\n', encoding="utf-8")
    assert load_config(tmp_path).attach is None
    for body, shown in [
        ('"sometimes"', "'sometimes'"),
        ("1", "1"),
        ("0", "0"),
        ('"true"', "'true'"),
    ]:
        pyproject.write_text(f"[tool.streamcassette]\nattach = {body}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as raised:
            load_config(tmp_path)
        assert str(raised.value) == (
            f"{pyproject.resolve()}: [tool.streamcassette]: "
            f'attach must be true, false or "auto", not {shown}'
        )
