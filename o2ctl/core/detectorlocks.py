"""Which environment holds each detector: one environment per detector.

A detector's readout can serve one environment at a time, so the controller locks the
detectors an environment names (its workflow's ``detectors`` variable) before anything of
it starts: at create, and at a modify for the detectors the change brings in. A lock that
cannot be taken is refused naming the environment that holds it, and then nothing is
locked (all or nothing). The locks go back when the environment is destroyed, when a
create or modify fails, and after a modify for the detectors the new target no longer names.

The table is pure data, kept by the controller and rebuilt from the environments' durable
records after the controller restarts (``hold``: the records are believed as they are).
"""

from __future__ import annotations

from collections.abc import Iterable

from o2ctl.core.errors import DetectorBusy


class DetectorLocks:
    """The detector → environment table, with its one rule (one environment per detector)."""

    def __init__(self) -> None:
        self._held: dict[str, str] = {}

    def table(self) -> dict[str, str]:
        """A copy of the table, detector → environment id (for display)."""
        return dict(self._held)

    def holder(self, detector: str) -> str | None:
        return self._held.get(detector)

    def held_by(self, env_id: str) -> list[str]:
        return [d for d, holder in self._held.items() if holder == env_id]

    def lock(self, env_id: str, detectors: Iterable[str]) -> list[str]:
        """Lock ``detectors`` for ``env_id``; returns those it did not hold already.

        Refused with ``DetectorBusy`` naming the holder when another environment holds one
        of them; nothing is locked then."""
        new = [d for d in dict.fromkeys(detectors) if self._held.get(d) != env_id]
        for d in new:
            holder = self._held.get(d)
            if holder is not None:
                raise DetectorBusy(
                    f"detector {d} is already in use by environment {holder}; "
                    "destroy that environment or leave the detector out"
                )
        for d in new:
            self._held[d] = env_id
        return new

    def unlock(self, env_id: str, detectors: Iterable[str]) -> None:
        """Give back ``detectors`` that ``env_id`` holds (a failed or dry-run modify's)."""
        for d in detectors:
            if self._held.get(d) == env_id:
                del self._held[d]

    def release(self, env_id: str, keep: Iterable[str] = ()) -> None:
        """Give back every detector of ``env_id`` but those in ``keep``."""
        kept = set(keep)
        self.unlock(env_id, [d for d in self.held_by(env_id) if d not in kept])

    def hold(self, env_id: str, detectors: Iterable[str]) -> None:
        """Record locks as a durable record says they were (the controller's rebuild)."""
        for d in detectors:
            self._held[d] = env_id
