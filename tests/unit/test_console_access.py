"""The console's sign-in and cross-site rules, and the shapes its pages show (pure).

The browser test (``tests/e2e/test_console.py``) drives them through a real page; here
each rule is checked on its own, including the cases a browser does not produce: a
missing ``Origin``, another port, a forged CSRF token, an expired or evicted session.
"""

from __future__ import annotations

import json

import pytest

from o2ctl.console import access, views


def test_sessions_hold_the_token_server_side_and_are_bounded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sessions = access.Sessions()
    first, dropped = sessions.open("tok")
    assert dropped == [] and sessions.get(first.sid) is first
    assert first.sid != first.token and first.csrf not in (first.sid, first.token)
    assert sessions.get("nope") is None and sessions.get(None) is None
    for _ in range(access.MAX_SESSIONS - 1):
        sessions.open("tok")
    _, dropped = sessions.open("tok")
    assert dropped == [first] and sessions.get(first.sid) is None, "the oldest goes first"
    later = sessions.all()[0]
    monkeypatch.setattr(access.time, "monotonic", lambda: later.created + access.SESSION_TTL_S + 1)
    assert sessions.get(later.sid) is None, "a session ends after its time"
    assert sessions.close(later.sid) is later and sessions.close(later.sid) is None


@pytest.mark.parametrize(
    ("origin", "host", "fetch_site", "refused"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1:8080", "same-origin", None),
        ("http://127.0.0.1:8080", "127.0.0.1:8080", None, None),
        ("https://console.example:443", "console.example:443", None, None),
        (None, "127.0.0.1:8080", None, "no Origin"),
        ("http://127.0.0.1:9999", "127.0.0.1:8080", None, "is not this console"),
        ("http://evil.example", "127.0.0.1:8080", None, "is not this console"),
        ("http://127.0.0.1:8080", "127.0.0.1:8080", "cross-site", "Sec-Fetch-Site"),
        ("null", "127.0.0.1:8080", None, "is not this console"),
    ],
)
def test_a_post_must_come_from_the_console_itself(
    origin: str | None, host: str, fetch_site: str | None, refused: str | None
) -> None:
    why = access.cross_site(origin, host, fetch_site)
    assert (why is None) if refused is None else (refused in (why or ""))


def test_csrf_token_and_token_shape() -> None:
    session, _ = access.Sessions().open("tok")
    assert access.csrf_ok(session, session.csrf)
    assert not access.csrf_ok(session, None) and not access.csrf_ok(session, session.sid)
    assert "empty" in (access.token_problem("  ") or "")
    assert access.token_problem("x" * 600) and access.token_problem("a\nb")
    assert access.token_problem("a-good_token") is None


def test_buttons_offer_only_the_legal_transitions_and_say_why() -> None:
    configured = {"state": "CONFIGURED", "allowed_events": ["START_ACTIVITY", "RESET", "EXIT"]}
    by = {b["event"]: b for b in views.buttons(configured)}
    assert by["START_ACTIVITY"]["enabled"] and not by["START_ACTIVITY"]["confirm"]
    assert not by["STOP_ACTIVITY"]["enabled"]
    assert by["STOP_ACTIVITY"]["why"] == (
        "STOP_ACTIVITY is not allowed in state CONFIGURED (allowed: EXIT, RESET, START_ACTIVITY)"
    )
    assert by["RESET"]["confirm"] and by["DESTROY"]["enabled"] and by["DESTROY"]["confirm"]
    running = {"state": "RUNNING", "allowed_events": ["STOP_ACTIVITY"]}
    assert "stop the run first" in {b["event"]: b for b in views.buttons(running)}["DESTROY"]["why"]
    busy = views.buttons({"state": "CONFIGURED", "busy": "START_ACTIVITY", "allowed_events": []})
    assert {b["why"] for b in busy} == {"busy with START_ACTIVITY"}


def test_rows_count_tasks_per_state_and_create_vars_are_checked() -> None:
    summary = {"env_id": "e1", "workflow": "w", "state": "RUNNING", "created": 5.0, "tasks": 3}
    tasks = [{"state": "RUNNING"}, {"state": "RUNNING"}, {"state": "ERROR"}]
    row = views.env_row(summary, tasks, None)
    assert row["tasks_by_state"] == {"ERROR": 1, "RUNNING": 2} and row["since"] == 5.0
    assert views.env_row(summary, tasks, 9.0)["since"] == 9.0
    got = views.create_vars({"nProcessors": 2, " ": "x"}, ["TPC", " ITS "])
    assert got == {"nProcessors": "2", "detectors": json.dumps(["TPC", "ITS"])}
    for bad in ([1], {"a": "x" * 5000}, {str(i): "" for i in range(views.MAX_VARS + 1)}):
        with pytest.raises(ValueError):
            views.create_vars(bad, None)
    with pytest.raises(ValueError, match="detectors must be a list"):
        views.create_vars({}, "TPC")
    with pytest.raises(ValueError, match="exclude must be a list"):
        views.names("a.b", "exclude")
