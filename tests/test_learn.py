"""Learning noise: rules for what differs between two recordings, and nothing more."""

from __future__ import annotations

from typing import Any

import pytest
from recorded_pairs import add_provider_metadata, frames, pair, positions, recorded_pairs

from streamcassette import MaskRules, diff_cassettes, read_config
from streamcassette._learn import learn_rules


@pytest.fixture(scope="session")
def pairs(langgraph_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return recorded_pairs(langgraph_url, tmp_path_factory.mktemp("pairs"))


@pytest.mark.parametrize("scenario", ["agent", "subgraph", "interrupt", "failing"])
def test_two_real_recordings_need_no_new_rule(pairs: dict[str, Any], scenario: str) -> None:
    """The built-in rules already mask all a server makes up: nothing is left to learn."""
    learning = learn_rules(*pair(pairs, scenario))
    assert learning.learned == []
    assert learning.equal


def test_learns_what_the_rules_no_longer_mask(pairs: dict[str, Any]) -> None:
    """Without the timestamp rule, learning finds the debug events' timestamps, and only them."""
    recorded, live = pair(pairs, "agent")
    rules = MaskRules.default().without("timestamp")
    assert not diff_cassettes(recorded, live, modes=["debug"], rules=rules).equal
    learning = learn_rules(recorded, live, rules)
    assert [learned.rule.path for learned in learning.learned] == ["timestamp"]
    assert learning.equal
    assert diff_cassettes(recorded, live, modes=["*"], rules=learning.rules).equal


def test_learns_provider_noise_and_still_sees_behaviour(pairs: dict[str, Any]) -> None:
    """Learned rules hide per-call metadata; a node that did not run still shows."""
    recorded, live = pair(pairs, "agent")
    add_provider_metadata(recorded, seed=1)
    add_provider_metadata(live, seed=2)
    assert not diff_cassettes(recorded, live).equal
    learning = learn_rules(recorded, live)
    assert sorted(learned.rule.path for learned in learning.learned) == [
        "agent.messages[*].response_metadata.created",
        "agent.messages[*].response_metadata.id",
    ]
    assert learning.equal
    assert diff_cassettes(recorded, live, modes=["*"], rules=learning.rules).equal

    del frames(live)[positions(live, "updates")[1]]
    report = diff_cassettes(recorded, live, rules=learning.rules)
    assert [d.kind for d in report.differences] == ["frame_removed"]
    relearned = learn_rules(recorded, live)
    assert not relearned.equal
    assert [d.kind for d in relearned.remaining] == ["frame_removed"]


def test_learned_rules_written_as_toml_read_back_the_same(
    pairs: dict[str, Any], tmp_path: Any
) -> None:
    """The TOML that learning writes reads back as the same rules, with an example per path."""
    recorded, live = pair(pairs, "agent")
    add_provider_metadata(recorded, seed=3)
    add_provider_metadata(live, seed=4)
    learning = learn_rules(recorded, live)
    text = learning.to_toml()
    assert "#   agent.messages[*].response_metadata.id: frame " in text
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    assert read_config(path).mask == learning.rules
