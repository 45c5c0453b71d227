"""What one expansion may cost: roles, seconds and memory, checked while it runs.

A workflow is untrusted input: iterators, includes and variables can ask for more work
than any farm needs. ``expand_workflow`` gives every expansion a ``Meter`` over a
``Budget``; the role kinds report each role (``count_role``) and each variable evaluated
(``tick``). The role count is checked at every role, the elapsed time and the growth of
the process's resident memory every ``CHECK_EVERY`` ticks (reading the memory costs a few
microseconds). Over any limit the expansion stops with a ``TemplateError`` that names the
file being expanded and the limit, and nothing of it is kept.

The memory limit is a soft one (it sees the whole process, and is read between steps);
a process that expands and has nothing else to protect (the CLI, the controller's
expansion worker: ``actors.expansion``) adds a hard one with ``address_space_limit``, so
that even one oversized step fails with a ``MemoryError`` (reported as over budget)
instead of growing until the machine swaps.
"""

from __future__ import annotations

import gc
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from o2ctl.templates.errors import TemplateError

CHECK_EVERY = 256
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class Budget:
    """The limits of one expansion (the defaults fit the documented maximum iterator)."""

    roles: int = 200_000
    seconds: float = 60.0
    memory_mb: int = 2048

    def describe(self) -> str:
        return f"{self.roles} roles, {self.seconds:g} s, {self.memory_mb} MB"


DEFAULT_BUDGET = Budget()


def resident_mb() -> float:
    """This process's resident memory in MB (Linux /proc; else the peak so far)."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * _PAGE / 1e6
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


class Meter:
    """The running account of one expansion against its ``Budget``."""

    def __init__(self, budget: Budget, origin: str) -> None:
        self.budget = budget
        self.origin = origin
        self.roles = 0
        self.ticks = 0
        self.started = time.monotonic()
        self.base_mb = resident_mb()

    def count_role(self, file: str, line: int, role: str) -> None:
        """One more role in the tree; over the role limit is an error at that role."""
        self.roles += 1
        if self.roles > self.budget.roles:
            raise TemplateError(
                f"the workflow expands to more than {self.budget.roles} roles "
                f"(the limit of one expansion)",
                file=file,
                line=line,
                role=role,
            )
        self.tick()

    def tick(self) -> None:
        """One more step; every ``CHECK_EVERY`` steps, time and memory are checked."""
        self.ticks += 1
        if self.ticks % CHECK_EVERY == 0:
            self.check()

    def check(self) -> None:
        elapsed = time.monotonic() - self.started
        if elapsed > self.budget.seconds:
            raise self._over(
                f"expansion took more than {self.budget.seconds:g} s (the limit of one "
                f"expansion; {self.roles} roles so far)"
            )
        grown = resident_mb() - self.base_mb
        if grown > self.budget.memory_mb:
            raise self._over(
                f"expansion used more than {self.budget.memory_mb} MB of memory (the limit "
                f"of one expansion; {self.roles} roles so far)"
            )

    def _over(self, reason: str) -> TemplateError:
        return TemplateError(reason, file=self.origin)


HARD_SLACK_MB = 512  # the hard limit sits this far above the soft one


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[0]) * _PAGE
    except (OSError, IndexError, ValueError):
        return 0


@contextmanager
def address_space_limit(budget: Budget) -> Iterator[None]:
    """Cap this whole process's address space at what it maps now plus the budget's memory
    (and ``HARD_SLACK_MB``) until the block ends. Only for processes with nothing else to
    protect: every thread of the process is bound by it while it holds."""
    mapped = _mapped_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if not mapped or (hard != resource.RLIM_INFINITY and hard <= mapped):
        yield  # no /proc (not Linux), or already tighter than anything we would set
        return
    cap = mapped + (budget.memory_mb + HARD_SLACK_MB) * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@contextmanager
def no_cyclic_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large tree of objects is built.

    Expansion allocates hundreds of thousands of small containers and frees none of them
    in cycles; with the collector on, each of its passes walks every object built so far,
    which made a 100,000-role expansion twice as slow (measured). Reference counting
    still frees everything as usual; the collector is switched back on afterwards.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
