"""The end-of-run rules: END_OF_STREAM from every task, and ``auto_stop_timeout``."""

from __future__ import annotations

import pytest

from o2ctl.core.endofrun import BadDuration, auto_stop_after, parse_duration, run_ended


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0.0),
        ("90s", 90.0),
        ("5m", 300.0),
        ("1h30m", 5400.0),
        ("1.5s", 1.5),
        ("300ms", 0.3),
        ("2m0.5s", 120.5),
        ("10us", 1e-5),
    ],
)
def test_go_durations_are_read(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "s", "5 s", "1h-5m", "5d", "1e3s", "x" * 65, "9999h"])
def test_anything_else_is_refused_naming_it(text: str) -> None:
    with pytest.raises(BadDuration) as err:
        parse_duration(text)
    assert text[:20] in str(err.value)


def test_the_timeout_alone_enables_it_as_aliecs_templates_derive() -> None:
    assert auto_stop_after({"auto_stop_timeout": "30s"}) == 30.0
    assert auto_stop_after({"auto_stop_timeout": "30s", "auto_stop_enabled": "true"}) == 30.0
    assert auto_stop_after({"auto_stop_timeout": "30s", "auto_stop_enabled": "false"}) is None
    for off in ("none", "None", "false", "0", "", " "):
        assert auto_stop_after({"auto_stop_timeout": off}) is None
    assert auto_stop_after({}) is None
    assert auto_stop_after({"auto_stop_enabled": "true"}) is None
    with pytest.raises(BadDuration):
        auto_stop_after({"auto_stop_timeout": "soon"})


def test_a_run_ends_when_every_controlled_task_sent_end_of_stream() -> None:
    tasks = ["env.a", "env.b"]
    assert not run_ended(set(), tasks)
    assert not run_ended({"env.a"}, tasks)
    assert run_ended({"env.a", "env.b"}, tasks)
    assert run_ended({"env.a", "env.b", "env.gone"}, tasks)  # a task since removed
    assert not run_ended({"env.a"}, [])  # no controlled task: nothing to wait for, no stop
