"""The job worker (``python -m pipeline worker``): huey's consumer, and a thread that tends the runs.

The consumer runs the jobs (``JOB_WORKERS`` threads, 1 by default: a run uses a core and the
database's write lock anyway) and huey's scheduler (retries, periodic tasks). Beside it, every
``TEND_SECONDS`` the tender ends or requeues the runs whose process went silent and queues again
the queued runs that lost their job (``jobs.runs.tend``), so no run stays ``running`` for more than
about ``STALE_SECONDS + TEND_SECONDS`` after its process died, or after the database came back.
Locks left by a killed worker are flushed when a worker starts.
"""

from __future__ import annotations

import logging
import os
import threading

from jobs.queue import Jobs
from jobs.runs import tend

log = logging.getLogger(__name__)
TEND_SECONDS = float(os.environ.get("RUN_TEND_SECONDS", "10"))


class Tender:
    """Call ``jobs.runs.tend`` every ``every`` seconds in a daemon thread until stopped."""

    def __init__(self, jobs: Jobs, every: float | None = None) -> None:
        self.jobs, self.every = jobs, every or TEND_SECONDS
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="run-tender", daemon=True)

    def start(self) -> Tender:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(self.every + 5)

    def _loop(self) -> None:
        while True:
            try:
                tend(self.jobs)
            except Exception as exc:  # noqa: BLE001 - the database may be away; try again next time
                log.warning("tending runs failed (%s); trying again in %.0f s", exc.__class__.__name__, self.every)
            if self.stopped.wait(self.every):
                return


def serve(jobs: Jobs, workers: int = 1) -> None:
    """Run the consumer in this process until SIGTERM or SIGINT, with the tender beside it."""
    consumer = jobs.huey.create_consumer(workers=workers, worker_type="thread", periodic=True, flush_locks=True,
                                         check_worker_health=True)  # fmt: skip
    tender = Tender(jobs).start()
    try:
        consumer.run()
    finally:
        tender.stop()
