"""What happens to a test's cassette once the test body has run: save, compare, count."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamcassette import Cassette
from streamcassette._diff import diff_cassettes
from streamcassette.protocols import default_modes

from ._fixtures import StreamCassette
from ._settings import build_mask_rules
from ._state import PluginState

__all__ = ["compute_drift", "finish"]


def compute_drift(handle: StreamCassette) -> str | None:
    """The rendered difference between the recorded and the live streams, or ``None``."""
    assert handle.recorded is not None
    settings = handle.settings
    recorded = handle.session.cassette
    # Named "live" in the report (the in-memory recording shares the cassette's path).
    live = Cassette(recorded.interactions, recorded.provenance, Path("live"))
    report = diff_cassettes(
        handle.recorded,
        live,
        modes=settings.modes or default_modes((handle.recorded, live)),
        policy=settings.policy,
        rules=build_mask_rules(settings),
    )
    if report.equal:
        return None
    text: str = report.render_text(color=False)
    return text


def _drift_message(handle: StreamCassette, text: str) -> str:
    return (
        f"stream drift: the live server no longer streams what {handle.shown} recorded\n\n"
        f"{text.rstrip()}\n\n"
        "if the new behaviour is intended, re-record the cassette: "
        f'pytest --record-streams "{handle.nodeid}"'
    )


def _unmatched_message(handle: StreamCassette, errors: list[Exception]) -> str:
    return (
        f"the code under test caught {len(errors)} request(s) that {handle.shown} cannot "
        "answer, so the test passed without the recorded data "
        "(mark it stream_cassette(allow_unmatched=True) if that is intended):\n"
        f"{errors[0]}"
    )


def _blocked_message(handle: StreamCassette, errors: list[Exception]) -> str:
    return (
        f"the code under test tried to reach the network while {handle.shown} was replaying "
        f"({len(errors)} attempt(s)), and the test passed without it:\n{errors[0]}"
    )


def finish(
    handle: StreamCassette, state: PluginState, *, passed: bool, item: pytest.Item
) -> str | None:
    """Save, compare and count; return why a test that passed must fail, if it must."""
    labels: list[str] = []
    failure: str | None = None
    session = handle.session
    if handle.action == "replay":
        labels.append("replayed")
        unmatched = handle.replayer_unmatched
        if passed and unmatched and not handle.settings.allow_unmatched:
            failure = _unmatched_message(handle, unmatched)
        if passed and session.blocked_errors:
            failure = failure or _blocked_message(handle, session.blocked_errors)
        if session.network_requests:
            labels.append("reached allowed hosts")
        unplayed = session.unplayed()
        if unplayed:
            state.unplayed.append((handle.nodeid, unplayed))
            if passed and handle.settings.require_all_played:
                listed = "\n  ".join(unplayed)
                failure = failure or (
                    f"{handle.shown}: {len(unplayed)} recorded interaction(s) were never "
                    f"requested (require_all_played=True):\n  {listed}"
                )
    drift: str | None = None
    if handle.recorded is not None:
        drift = compute_drift(handle)
        labels.append("drifted" if drift is not None else "compared")
    if handle.save_on_pass:
        if passed:
            earlier = state.claim(handle.path, handle.nodeid)
            if earlier is None:
                if handle.live_url is not None:
                    # Versions of the server that was really used, not of the URL the code
                    # under test was given (the plugin redirected it).
                    info = state.live.server_info()
                    if info:
                        handle.cassette.provenance.setdefault("server", info)
                handle.session.save(attach=handle.settings.attach, warn_empty=False)
                labels.append("recorded")
                if not handle.cassette.interactions:
                    labels.append("recorded nothing")
                    state.empty.append(handle.nodeid)
            elif earlier == handle.nodeid:
                labels.append("recorded elsewhere")  # same test on another worker
            else:
                failure = (
                    f"{handle.shown} was already recorded in this run by {earlier}; "
                    "give each test its own cassette name"
                )
        else:
            labels.append("not saved")
    if drift is not None:
        handle.drift_text = drift
        message = _drift_message(handle, drift)
        if handle.save_on_pass and passed:
            state.drift.append((handle.nodeid, drift))
        elif passed:
            failure = failure or message
        else:
            item.add_report_section("call", "stream drift", message)
    handle.labels = labels
    state.counts.update(labels)
    return failure
