"""``testplugin``: calls for tests and demonstrations, as AliECS names it.

``Noop()`` succeeds (real templates call it for roles that must exist but do nothing),
``Fail(message)`` fails with that message, ``Sleep(seconds)`` sleeps (within its
deadline), ``Append(path, text[, delay_s])`` appends one line to a file, after an optional
delay, to record the order calls ran in. ``Append`` writes only under its root (setting
``append_root``, a directory inside the state directory): a template cannot name a path
outside it. Template helper: ``testplugin.Echo(x)`` returns ``x`` (to show that
expressions reach the helpers of installed plugins).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

from o2ctl.plugins.api import (
    CallContext,
    CallFailed,
    CallFunction,
    Helper,
    HelperVariables,
    Plugin,
    PluginSetup,
    inside,
)
from o2ctl.templates.convert import to_number, to_text

MAX_LINE = 4096
MAX_SLEEP_S = 3600.0


class PluginForTests(Plugin):
    """The ``testplugin`` integration (the class name keeps pytest from collecting it)."""

    name = "testplugin"
    description = "Noop, Fail, Sleep and Append calls for tests and demonstrations"
    settings = {"append_root": "testplugin"}

    def __init__(self, setup: PluginSetup) -> None:
        super().__init__(setup)
        self.root = setup.under_state_dir("append_root")

    def functions(self) -> Mapping[str, CallFunction]:
        return {
            "Noop": CallFunction(lambda ctx: None, 0, 0, "does nothing, successfully"),
            "Fail": CallFunction(_fail, 0, 1, "fails, with the message given"),
            "Sleep": CallFunction(_sleep, 1, 1, "sleeps that many seconds (within the deadline)"),
            "Append": CallFunction(
                self.append, 2, 3, "appends a line to a file under append_root, after delay_s"
            ),
        }

    def helpers(self) -> Mapping[str, Helper]:
        return {"Echo": Helper(_echo, 1, 1, "returns its argument")}

    def append(self, ctx: CallContext, path: object, text: object, delay_s: object = 0) -> str:
        target = inside(self.root, to_text(path), "Append path")
        line = to_text(text).replace("\r", " ").replace("\n", " ")
        if len(line) > MAX_LINE:
            raise CallFailed(f"Append text of {len(line)} characters (at most {MAX_LINE})")
        _wait(ctx, _seconds(delay_s, "Append delay_s"))
        target.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        fd = os.open(target, flags, 0o644)
        with os.fdopen(fd, "a", encoding="utf-8") as f:
            f.write(line + "\n")
        return str(target.relative_to(self.root.resolve()))


def _fail(ctx: CallContext, message: object = "testplugin.Fail called") -> None:
    raise CallFailed(to_text(message))


def _sleep(ctx: CallContext, seconds: object) -> None:
    _wait(ctx, _seconds(seconds, "Sleep seconds"))


def _seconds(value: object, what: str) -> float:
    number = to_number(value)
    if number is None or not 0 <= float(number) <= MAX_SLEEP_S:
        raise CallFailed(f"{what} is {value!r}: expected a number of seconds, 0-{MAX_SLEEP_S:g}")
    return float(number)


def _wait(ctx: CallContext, seconds: float) -> None:
    if seconds <= 0:
        return
    if seconds > ctx.remaining():
        time.sleep(ctx.remaining())
        raise CallFailed(f"waiting {seconds:g}s did not finish within the call's timeout")
    time.sleep(seconds)


def _echo(env: HelperVariables, value: object) -> object:
    return value
