"""Progress steps read from the event log: only the caller's environment, in order."""

from o2ctl.progress import ProgressReader


def ev(kind: str, env_id: str, **kw: object) -> dict[str, object]:
    return {"kind": kind, "env_id": env_id, "event": "", "status": "", "detail": {}, **kw}


def test_follows_only_the_requested_environment() -> None:
    r = ProgressReader("req-1")
    steps = r.feed(
        [
            ev("environment", "OTHER", detail={"request_id": "req-2", "tasks": 9}),
            ev("environment", "E1", detail={"request_id": "req-1", "tasks": 3}),
            ev(
                "transition",
                "OTHER",
                event="DEPLOY",
                detail={"progress": {"done": 9, "total": 9, "failed": 0}},
            ),
            ev(
                "transition",
                "E1",
                event="DEPLOY",
                detail={"progress": {"done": 2, "total": 3, "failed": 1}},
            ),
            ev("transition", "E1", event="CONFIGURE", status="STARTED"),
            ev("transition", "E1", event="CONFIGURE", status="DONE_OK"),
        ]
    )
    assert [(s.phase, s.done, s.total, s.failed, s.finished) for s in steps] == [
        ("DEPLOY", 0, 3, 0, False),
        ("DEPLOY", 2, 3, 1, False),
        ("CONFIGURE", 0, 3, 0, False),
        ("CONFIGURE", 3, 3, 0, True),
    ]
    assert r.env_id == "E1"
