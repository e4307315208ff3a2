"""``@pytest.mark.stream_cassette``: cassette names, safe paths, settings and their precedence."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from plugin_helpers import write_ini

pytest_plugins = ["pytester"]


def _record(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    # A recording run probes its server first, so the URL must be live.
    return pytester.runpytest("--record-streams", "--langgraph-url", url, *args)


def _files(folder: Path) -> list[str]:
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_marker_names_the_cassette_and_may_use_subfolders(
    pytester: pytest.Pytester, langgraph_url: str
):
    """A name with ``/`` makes sub-folders of the module's cassette folder."""
    write_ini(pytester)
    pytester.makepyfile(
        test_names="""
        import pytest

        @pytest.mark.stream_cassette("shared/chat")
        def test_one(stream_cassette):
            assert stream_cassette.path.name == "chat.json"

        @pytest.mark.stream_cassette(name="plain.json")
        def test_two():
            pass
        """
    )

    _record(pytester, langgraph_url).assert_outcomes(passed=2)

    assert _files(pytester.path / "cassettes") == [
        "test_names/plain.json",
        "test_names/shared/chat.json",
    ]


def test_parametrised_ids_become_safe_file_names(pytester: pytest.Pytester, langgraph_url: str):
    """Ids with ``/``, ``..`` or spaces stay inside the folder, and different ids never collide."""
    write_ini(pytester)
    pytester.makepyfile(
        test_ids="""
        import pytest

        @pytest.mark.parametrize("value", ["a/b", "a_b", "../up", "two words", "ok"])
        def test_p(stream_cassette, value):
            pass

        class TestGroup:
            def test_method(self, stream_cassette):
                pass
        """
    )

    _record(pytester, langgraph_url).assert_outcomes(passed=6)

    names = _files(pytester.path / "cassettes" / "test_ids")
    assert len(names) == 6
    assert "test_p[ok].json" in names
    assert "test_p[a_b].json" in names
    assert "TestGroup.test_method.json" in names
    for name in names:
        assert "/" not in name
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]=+,@]+\.json", name), name
    hashed = [name for name in names if re.search(r"-[0-9a-f]{8}\.json$", name)]
    assert len(hashed) == 3  # a/b, ../up and "two words" were changed, so they carry a hash


@pytest.mark.parametrize("name", ["../escape", "/etc/passwd", "a/../../b"])
def test_names_that_leave_the_folder_are_refused(
    pytester: pytest.Pytester, name: str, langgraph_url: str
):
    """A marker name that would write outside the cassette folder fails the test."""
    write_ini(pytester)
    pytester.makepyfile(
        test_escape=f"""
        import pytest

        @pytest.mark.stream_cassette({name!r})
        def test_escape():
            pass
        """
    )

    result = _record(pytester, langgraph_url)

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines([f"*cassette name {name!r} would leave the cassette folder*"])
    assert not (pytester.path / "cassettes").exists()
    assert not (pytester.path / "escape.json").exists()


def test_unknown_marker_setting_is_an_error(pytester: pytest.Pytester):
    """A misspelt marker keyword fails the test and lists the known settings."""
    write_ini(pytester)
    pytester.makepyfile(
        test_typo="""
        import pytest

        @pytest.mark.stream_cassette(polcy="structure")
        def test_typo():
            pass
        """
    )

    result = pytester.runpytest()

    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.stream_cassette on test_typo.py::test_typo: unknown setting(s) "
            "'polcy'; known settings: alias_ids, allow_hosts, allow_unmatched, attach, "
            "before_record_request, before_record_response, mask, match_on, modes, policy, "
            "redact, redact_keys, redact_paths, repeats, require_all_played, speed, urls*"
        ]
    )


def test_settings_precedence_marker_over_fixture_over_pyproject(
    pytester: pytest.Pytester, langgraph_url: str
):
    """Scalars come from the closest layer that sets them; mask rules add up over all layers."""
    write_ini(pytester)
    pytester.makefile(
        ".toml",
        pyproject=textwrap.dedent(
            """
            [tool.streamcassette]
            modes = ["values"]
            policy = "structure"
            redact = ["x-project-secret"]

            [tool.streamcassette.mask]
            keys = ["from_pyproject"]
            """
        ),
    )
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture
        def stream_cassette_config():
            return {"modes": ["custom"], "mask": {"keys": ["from_fixture"]}}
        """
    )
    pytester.makepyfile(
        test_layers="""
        import pytest
        from streamcassette_pytest._settings import build_mask_rules

        def _keys(settings):
            return {rule.key for rule in build_mask_rules(settings).keys}

        def test_fixture_over_pyproject(stream_cassette):
            settings = stream_cassette.settings
            assert settings.modes == ("custom",)
            assert settings.policy == "structure"
            assert settings.redact == ("x-project-secret",)
            assert {"from_pyproject", "from_fixture"} <= _keys(settings)

        @pytest.mark.stream_cassette(policy="exact", modes="updates", mask={"keys": ["mine"]})
        class TestMarked:
            @pytest.mark.stream_cassette(modes=["messages"])
            def test_marker_over_fixture(self, stream_cassette):
                settings = stream_cassette.settings
                assert settings.modes == ("messages",)  # the test's own marker wins
                assert settings.policy == "exact"  # the class marker beats the fixture
                assert {"from_pyproject", "from_fixture", "mine"} <= _keys(settings)
        """
    )

    _record(pytester, langgraph_url).assert_outcomes(passed=2)


def test_attach_marker_over_fixture_over_pyproject(pytester: pytest.Pytester, langgraph_url: str):
    """``attach`` is a scalar like the others: the marker's beats the fixture's beats the
    project's; a value that is not True, False, None or "auto" names the marker."""
    write_ini(pytester)
    pytester.makefile(".toml", pyproject="[tool.streamcassette]\nattach = false\n")
    pytester.makepyfile(
        test_project="""
        import pytest

        def test_from_pyproject(stream_cassette):
            assert stream_cassette.settings.attach is False

        @pytest.mark.stream_cassette(attach=True)
        def test_marker_over_pyproject(stream_cassette):
            assert stream_cassette.settings.attach is True

        @pytest.mark.stream_cassette(attach="auto")
        def test_marker_auto(stream_cassette):
            assert stream_cassette.settings.attach is None

        @pytest.mark.stream_cassette(attach="sometimes")
        def test_bad_value():
            pass
        """,
        test_fixture="""
        import pytest

        @pytest.fixture
        def stream_cassette_config():
            return {"attach": True}

        def test_fixture_over_pyproject(stream_cassette):
            assert stream_cassette.settings.attach is True

        @pytest.mark.stream_cassette(attach=None)
        def test_marker_none_over_fixture(stream_cassette):
            assert stream_cassette.settings.attach is None
        """,
    )

    result = _record(pytester, langgraph_url)

    result.assert_outcomes(passed=5, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.stream_cassette on test_project.py::test_bad_value: attach must be "
            "True, False, None or 'auto'; got 'sometimes'*"
        ]
    )
