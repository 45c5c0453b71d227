"""Port allocation, per host, for control ports and bound channels.

The controller owns one ``PortAllocator`` for the whole cluster: every port a task gets
(its OCC control port at launch, its bind channels at CONFIGURE) is reserved here against
the task's host and owner, so two tasks on one host never get the same port, whichever
environment they belong to. Releasing by owner frees everything a task held when it is
reconfigured or goes away. The range defaults below the Linux ephemeral range and above
Ray's worker ports, so neither outgoing connections nor Ray compete for it.

Allocation state is a plain dict of records: it can be written out and rebuilt (control
plane restart) with ``snapshot``/``restore``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass

DEFAULT_RANGE = (20000, 31999)


class PortsExhausted(RuntimeError):
    """No free port left on a host."""


@dataclass(frozen=True)
class PortRecord:
    host: str
    port: int
    owner: str
    purpose: str


class PortAllocator:
    """Hands out distinct ports per host; ``is_free`` lets a caller skip ports taken by others."""

    def __init__(
        self,
        port_range: tuple[int, int] = DEFAULT_RANGE,
        is_free: Callable[[str, int], bool] | None = None,
        seed: str = "",
    ) -> None:
        lo, hi = port_range
        if not 0 < lo <= hi < 65536:
            raise ValueError(f"bad port range {lo}-{hi}")
        self._lo, self._hi = lo, hi
        # where each host's search begins: the system's own place in the range (``seed``:
        # its id), so that two systems on one host do not hand out the same ports in the
        # same order (``is_free`` sees a port only once its process has bound it)
        self._first = lo + zlib.crc32(seed.encode()) % (hi - lo + 1) if seed else lo
        self._is_free = is_free
        self._used: dict[tuple[str, int], PortRecord] = {}
        self._next: dict[str, int] = {}

    def allocate(self, host: str, owner: str, purpose: str = "") -> int:
        """A port on ``host`` that no other owner holds, reserved for ``owner``."""
        span = self._hi - self._lo + 1
        start = self._next.get(host, self._first)
        for i in range(span):
            port = self._lo + (start - self._lo + i) % span
            if (host, port) in self._used:
                continue
            if self._is_free is not None and not self._is_free(host, port):
                continue
            self._used[(host, port)] = PortRecord(host, port, owner, purpose)
            self._next[host] = port + 1 if port < self._hi else self._lo
            return port
        raise PortsExhausted(f"no free port left on {host} in {self._lo}-{self._hi}")

    def allocate_many(self, host: str, owner: str, purposes: Iterable[str]) -> dict[str, int]:
        """One port per purpose, all or nothing."""
        got: dict[str, int] = {}
        try:
            for purpose in purposes:
                got[purpose] = self.allocate(host, owner, purpose)
        except PortsExhausted:
            for port in got.values():
                self._used.pop((host, port), None)
            raise
        return got

    def release_owner(self, owner: str, keep_purposes: Iterable[str] = ()) -> int:
        """Free every port ``owner`` holds except those for ``keep_purposes``; returns the count."""
        keep = set(keep_purposes)
        gone = [k for k, r in self._used.items() if r.owner == owner and r.purpose not in keep]
        for key in gone:
            del self._used[key]
        return len(gone)

    def release_owner_purpose(self, owner: str, purpose: str) -> int:
        """Free the port ``owner`` holds for ``purpose``; returns how many were freed."""
        gone = [k for k, r in self._used.items() if r.owner == owner and r.purpose == purpose]
        for key in gone:
            del self._used[key]
        return len(gone)

    def held_by(self, owner: str) -> list[PortRecord]:
        return sorted(
            (r for r in self._used.values() if r.owner == owner), key=lambda r: (r.host, r.port)
        )

    def snapshot(self) -> list[PortRecord]:
        return sorted(self._used.values(), key=lambda r: (r.host, r.port))

    def restore(self, records: Iterable[PortRecord]) -> None:
        for r in records:
            self._used[(r.host, r.port)] = r
