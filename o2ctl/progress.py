"""Progress of a long operation (creating an environment), read from the event log.

While the controller deploys and configures, the caller follows the cluster-wide event log:
the environment's first event carries the caller's request id (so the environment is
known before the call returns), DEPLOY publishes how many tasks are up, CONFIGURE its
start and end. Each step is handed to a callback as a ``Step``; ``text_progress`` prints
them, ``o2ctl env create`` draws a rich progress bar, a notebook shows a live line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    env_id: str
    phase: str  # DEPLOY, CONFIGURE
    done: int
    total: int
    failed: int = 0
    finished: bool = False


class ProgressReader:
    """Turns event dicts into ``Step``s for the environment created under ``request_id``."""

    def __init__(self, request_id: str) -> None:
        self.request_id = request_id
        self.env_id = ""
        self.total = 0

    def feed(self, events: Iterable[dict[str, Any]]) -> list[Step]:
        steps = []
        for ev in events:
            detail = ev.get("detail") or {}
            if not self.env_id:
                if ev["kind"] == "environment" and detail.get("request_id") == self.request_id:
                    self.env_id, self.total = ev["env_id"], int(detail.get("tasks", 0))
                    steps.append(Step(self.env_id, "DEPLOY", 0, self.total))
                continue
            if ev["env_id"] != self.env_id:
                continue
            if ev["kind"] == "node" and ev.get("event") == "RECLAIM":  # an async node taken
                done = ev.get("status") == "DONE_OK"
                steps.append(
                    Step(self.env_id, f"RECLAIM {ev['path']}", int(done), 1, finished=done)
                )
            elif ev["kind"] == "transition":
                steps.extend(self._step(ev, detail))
        return steps

    def _step(self, ev: dict[str, Any], detail: dict[str, Any]) -> list[Step]:
        phase, status = ev["event"], ev["status"]
        if phase == "DEPLOY" and "progress" in detail:
            p = detail["progress"]
            return [Step(self.env_id, phase, p["done"], p["total"], p["failed"])]
        if phase == "CONFIGURE" and status in ("STARTED", "DONE_OK", "DONE_ERROR"):
            done = self.total if status != "STARTED" else 0
            return [Step(self.env_id, phase, done, self.total, finished=status != "STARTED")]
        return []


def text_progress(say: Callable[[str], None] = print) -> Callable[[Step], None]:
    def show(step: Step) -> None:
        failed = f", {step.failed} failed" if step.failed else ""
        say(f"{step.env_id} {step.phase}: {step.done}/{step.total} tasks{failed}")

    return show
