"""When a run ends by itself: every task's END_OF_STREAM, or the auto-stop timeout.

Two rules, as AliECS applies them to any environment (not only automatic ones):

* a run in which every controlled task has sent END_OF_STREAM through OCC's event stream
  is over, and the environment stops it (STOP_ACTIVITY);
* a run started with ``auto_stop_timeout`` set (a Go duration such as ``30s``, ``1h30m``)
  is stopped that long after START_ACTIVITY, unless ``auto_stop_enabled`` says otherwise.
  AliECS's templates derive ``auto_stop_enabled`` from the timeout
  (``!strings.IsFalsy(auto_stop_timeout)``); a template that sets only the timeout gets the
  same here, and ``"none"``, ``"false"``, ``"0"`` or empty mean no timeout.

Pure: the environment actor holds the set of tasks that ended their stream and the timer;
these functions say what follows from them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping

FALSY = frozenset({"", "0", "false", "no", "off", "none", "null", "nil"})
_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "μs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
MAX_S = 366 * 24 * 3600.0  # a timeout beyond a year is a typo, not a plan


class BadDuration(ValueError):
    """A duration that is not Go's ``time.ParseDuration`` syntax (the message says so)."""


def parse_duration(text: str) -> float:
    """Seconds in a Go duration (``1h2m3.5s``, ``300ms``; a bare ``0`` is zero)."""
    s = text.strip()
    if s == "0":
        return 0.0
    if len(s) > 64:
        raise BadDuration(f"duration {s[:20]!r}... is {len(s)} characters long (at most 64)")
    pos, total = 0, 0.0
    for m in _PART.finditer(s):
        if m.start() != pos:
            break
        total += float(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s) or not s:
        raise BadDuration(f"{text!r} is not a duration (expected e.g. 90s, 5m, 1h30m, 500ms)")
    if total > MAX_S:
        raise BadDuration(f"duration {text!r} is longer than a year")
    return total


def auto_stop_after(variables: Mapping[str, str]) -> float | None:
    """The seconds after START_ACTIVITY at which the run is stopped; None: not at all.

    ``BadDuration`` when the timeout is set, enabled and unreadable."""
    timeout = str(variables.get("auto_stop_timeout") or "").strip()
    if timeout.lower() in FALSY:
        return None
    enabled = variables.get("auto_stop_enabled")
    if enabled is not None and str(enabled).strip().lower() != "true":
        return None
    seconds = parse_duration(timeout)
    return seconds if seconds > 0 else None


def run_ended(ended: Collection[str], controlled: Iterable[str]) -> bool:
    """Whether every controlled task (by role path) has sent END_OF_STREAM this run."""
    expected = set(controlled)
    return bool(expected) and expected <= set(ended)
