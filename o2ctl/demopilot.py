"""The demo pilot (console script ``o2ctl-pilot``): simulated grid jobs, one after another.

On an async node the control system runs a *pilot*: a long-lived process that fetches
grid jobs and runs them. This one stands in for the real thing on a laptop or in tests:
each job is a short-lived child process (so that stopping a pilot really has children to
take down), each start and end is logged on stdout, and after each job the number of jobs
done is written to a status file (``--status-file``, default ``$O2CTL_PILOT_STATUS``),
which the pilot-job actor reads to report ``jobs``.

SIGTERM ends the pilot cleanly: the running job is stopped and the pilot exits 0.
``--stubborn`` ignores SIGTERM in the pilot and its jobs, to try the SIGKILL that follows
the grace period of a reclaim.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

STATUS_ENV = "O2CTL_PILOT_STATUS"
JOB = "import signal, sys, time\n{ignore}time.sleep(float(sys.argv[1]))\n"


class Pilot:
    def __init__(self, job_seconds: float, status_file: str, stubborn: bool) -> None:
        self.job_seconds = job_seconds
        self.status = Path(status_file) if status_file else None
        self.stubborn = stubborn
        self.jobs = 0
        self.stopping = False
        self.child: subprocess.Popen[bytes] | None = None
        self.since = time.time()

    def say(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        sys.stdout.write(f"{stamp} o2ctl-pilot[{os.getpid()}]: {text}\n")
        sys.stdout.flush()

    def write_status(self) -> None:
        if self.status is None:
            return
        record = {
            "pid": os.getpid(),
            "since": self.since,
            "jobs": self.jobs,
            "job_pid": self.child.pid if self.child else None,
        }
        tmp = self.status.with_name(f".{self.status.name}.{os.getpid()}")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self.status)

    def on_term(self, signum: int, frame: object) -> None:
        self.stopping = True
        if self.child is not None and self.child.poll() is None:
            self.child.terminate()

    def run_job(self, number: int) -> None:
        ignore = "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" if self.stubborn else ""
        script = JOB.format(ignore=ignore)
        self.child = subprocess.Popen([sys.executable, "-c", script, str(self.job_seconds)])
        self.write_status()
        self.say(f"job {number} started (pid {self.child.pid})")
        t0 = time.monotonic()
        rc = self.child.wait()
        took = time.monotonic() - t0
        self.child = None
        if rc == 0:
            self.jobs += 1
            self.say(f"job {number} done in {took:.1f}s (jobs done: {self.jobs})")
        else:
            self.say(f"job {number} ended with code {rc} after {took:.1f}s")
        self.write_status()

    def run(self, max_jobs: int) -> int:
        handler = signal.SIG_IGN if self.stubborn else self.on_term
        signal.signal(signal.SIGTERM, handler)
        self.say(f"pilot started (job length {self.job_seconds:g}s)")
        self.write_status()
        number = 0
        while not self.stopping and (max_jobs <= 0 or number < max_jobs):
            number += 1
            self.run_job(number)
        self.say(f"pilot stopping after {self.jobs} job(s)")
        return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="o2ctl-pilot", description="A demo grid pilot: simulated jobs, one after another."
    )
    parser.add_argument("--job-seconds", type=float, default=3.0, help="length of each job")
    parser.add_argument("--jobs", type=int, default=0, help="jobs to run (0: until stopped)")
    parser.add_argument(
        "--status-file",
        default=os.environ.get(STATUS_ENV, ""),
        help=f"where to write the jobs done (default: ${STATUS_ENV})",
    )
    parser.add_argument("--stubborn", action="store_true", help="ignore SIGTERM (tests)")
    args = parser.parse_args(argv)
    if not 0 < args.job_seconds <= 86400:
        parser.error("--job-seconds must be above 0 and at most 86400")
    return Pilot(args.job_seconds, args.status_file, args.stubborn).run(args.jobs)


if __name__ == "__main__":
    sys.exit(main())
