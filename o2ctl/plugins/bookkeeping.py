"""``bookkeeping``: every environment and run it is called for, in SQLite (``bkstore``).

The call functions are AliECS's names, at the hook points readout-dataflow uses:
``CreateEnv`` (before_DEPLOY), ``UpdateEnv`` (after each transition; ``DESTROYED`` at
DESTROY), ``StartOfRun`` (before_START_ACTIVITY with a weight ≥ 0, once the run number
exists), ``UpdateRunStart`` (after_START_ACTIVITY), ``UpdateRunStop`` (after
STOP_ACTIVITY, after GO_ERROR, at DESTROY: closes the environment's open run with its
stop time, duration and final state). ``RetrieveFillInfo`` fails: o2ctl has no LHC fill
information. Setting ``database``: the file, inside the state directory.
``o2ctl runs list|show`` read the same file.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from o2ctl.plugins.api import CallContext, CallFailed, CallFunction, Plugin, PluginSetup
from o2ctl.plugins.bkstore import BookkeepingStore

ENDED_BY = (("STOP_ACTIVITY", "STOPPED"), ("GO_ERROR", "ERROR"), ("DESTROY", "DESTROYED"))


class BookkeepingPlugin(Plugin):
    """The ``bookkeeping`` integration."""

    name = "bookkeeping"
    description = "records environments and runs in a SQLite file in the state directory"
    settings = {"database": "bookkeeping.sqlite"}

    def __init__(self, setup: PluginSetup) -> None:
        super().__init__(setup)
        self.store = BookkeepingStore(setup.under_state_dir("database"))

    def functions(self) -> Mapping[str, CallFunction]:
        return {
            "CreateEnv": CallFunction(self.update_env, doc="records a new environment"),
            "UpdateEnv": CallFunction(self.update_env, doc="records the environment's state"),
            "StartOfRun": CallFunction(self.start_of_run, doc="opens the current run"),
            "UpdateRunStart": CallFunction(self.run_start, doc="marks the run as running"),
            "UpdateRunStop": CallFunction(self.run_stop, doc="closes the environment's run"),
            "RetrieveFillInfo": CallFunction(_no_fill_info, doc="not available in o2ctl"),
        }

    def update_env(self, ctx: CallContext) -> str:
        state = "DESTROYED" if ctx.trigger.upper().startswith("DESTROY") else ctx.state
        self.store.record_env(ctx.env_id, ctx.workflow, ctx.detectors, state, time.time())
        return state

    def start_of_run(self, ctx: CallContext) -> str:
        run = _run_number(ctx, "StartOfRun")
        started = ctx.variables.get("run_start_time_ms", "")
        start = int(started) / 1000 if started.isdigit() else time.time()
        run_type = ctx.variables.get("run_type", "")
        self.store.open_run(run, ctx.env_id, run_type, ctx.detectors, start)
        return str(run)

    def run_start(self, ctx: CallContext) -> str:
        run = _run_number(ctx, "UpdateRunStart")
        if not self.store.run_started(run):
            raise CallFailed(f"run {run} was not opened by bookkeeping.StartOfRun")
        return str(run)

    def run_stop(self, ctx: CallContext) -> str:
        point = ctx.trigger.upper()
        final = next((state for event, state in ENDED_BY if event in point), ctx.state)
        closed = self.store.close_runs(ctx.env_id, ctx.run_number, time.time(), final)
        return f"{closed} run(s) {final}"

    @property
    def database(self) -> Path:
        return self.store.path


def _run_number(ctx: CallContext, what: str) -> int:
    if ctx.run_number is None:
        raise CallFailed(
            f"bookkeeping.{what}: no current run (call it from before_START_ACTIVITY with a "
            f"weight of 0 or more, until after_STOP_ACTIVITY); was at {ctx.trigger}"
        )
    return ctx.run_number


def _no_fill_info(ctx: CallContext) -> None:
    raise CallFailed("bookkeeping.RetrieveFillInfo: o2ctl has no LHC fill information service")
