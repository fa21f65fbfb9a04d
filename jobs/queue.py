"""The job queue: huey, with its storage chosen for the deployment, and the tasks the worker runs.

``JOBS_URL`` says where jobs wait: ``sqlite:///path`` (the embedded default: ``jobs.sqlite3`` in the
instance folder, a file of its own so that queueing never waits for the pipeline's write lock on
the events database), ``postgresql://…`` (the default when ``DATABASE_URL`` is PostgreSQL: huey's
``jobs_*`` tables in the same database, which Railway's web and worker services both reach) or
``redis://…`` (Railway's Redis, when one is added). Jobs survive restarts in all three.

Tasks: ``ingest`` runs one queued run (``jobs.runs.run_job``) under a per-dataset lock, so a
dataset has one writing run at a time (a job that finds it taken looks again in ``LOCKED_DELAY``);
a run that cannot start because the database does not answer is retried with backoff.
``feeds-due`` (periodic, every minute) queues a ``feed`` job for each scheduled feed that is due
(``feeds.service``); a feed job fetches and imports under a lock of the feed's name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey, crontab
from huey.exceptions import RetryTask, TaskLockedException
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from config import ConfigError
from models.database import QUEUE_TABLES_PREFIX

log = logging.getLogger(__name__)
NAME = "nvcd"
TABLE_PREFIX = QUEUE_TABLES_PREFIX.rstrip("_")
# A job whose run cannot start (database not answering) is tried again after 2, 4, 8 … 256 s.
START_RETRIES, START_RETRY_DELAY, START_RETRY_BACKOFF = 8, 2.0, 2.0
# A job that finds its dataset locked by another run waits this long and looks again.
LOCKED_DELAY = 5.0


def _lock_key(dataset: str) -> str:
    return f"{NAME}.dataset-lock.{dataset}"


def jobs_url(settings: dict[str, object]) -> str:
    """Return the queue's storage URL: ``JOBS_URL``, else beside the database (see the module's docstring)."""
    explicit = str(settings.get("JOBS_URL") or "").strip()
    if explicit:
        return explicit
    database = make_url(str(settings["DATABASE_URL"]))
    if database.get_backend_name() == "postgresql":
        return database.set(drivername="postgresql").render_as_string(hide_password=False)
    return f"sqlite:///{Path(str(settings['INSTANCE_PATH'])) / 'jobs.sqlite3'}"


def make_huey(url: str) -> Huey:
    """Return a huey instance on the storage ``url`` names (no task registered yet)."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(NAME, filename=str(path), utc=True)
    if scheme in ("postgres", "postgresql") or scheme.startswith("postgresql+"):
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        return PostgresHuey(NAME, dsn=dsn, table_prefix=TABLE_PREFIX, connect_timeout=5, utc=True)
    if scheme in ("redis", "rediss"):
        return RedisHuey(NAME, url=url, utc=True)
    raise ConfigError(f"JOBS_URL must be sqlite:///…, postgresql://… or redis://…, got a {scheme or 'bare'} URL")


class Jobs:
    """The queue and its tasks; ``engine`` and ``settings`` are what the tasks run with (in the worker)."""

    def __init__(self, huey: Huey, engine: Engine | Callable[[], Engine], settings: dict[str, object]) -> None:
        self.huey = huey
        self.settings = settings
        self._engine = engine
        self._ingest = huey.task(name="ingest", retries=START_RETRIES, retry_delay=START_RETRY_DELAY,
                                 retry_backoff=START_RETRY_BACKOFF)(self._ingest_task)  # fmt: skip
        self._feed = huey.task(name="feed")(self._feed_task)
        huey.periodic_task(crontab(), name="feeds-due")(self.queue_due_feeds)

    @classmethod
    def from_settings(cls, settings: dict[str, object], engine: Engine | Callable[[], Engine]) -> Jobs:
        """Build the queue the settings name."""
        return cls(make_huey(jobs_url(settings)), engine, settings)

    @property
    def engine(self) -> Engine:
        """The engine the tasks use (made on first use when given as a factory)."""
        if not isinstance(self._engine, Engine):
            self._engine = self._engine()
        return self._engine

    def enqueue(self, run_id: int, delay: float | None = None) -> None:
        """Queue the job that runs queued run ``run_id`` (after ``delay`` seconds)."""
        if delay:
            self._ingest.schedule((run_id,), delay=delay)
        else:
            self._ingest(run_id)

    def waiting(self) -> set[int]:
        """Return the run ids whose jobs wait in the queue or its schedule."""
        tasks = [*self.huey.pending(), *self.huey.scheduled()]
        return {int(task.args[0]) for task in tasks if task.name == "ingest" and task.args}

    def _ingest_task(self, run_id: int) -> str:
        from jobs.runs import dataset_of, run_job

        dataset = dataset_of(self.engine, run_id)
        if dataset is None:
            return "gone"
        if not self.lock_dataset(dataset, run_id):
            log.info("run %s waits: dataset %s has a writing run", run_id, dataset)
            raise RetryTask(delay=LOCKED_DELAY)
        try:
            return run_job(self, run_id)
        finally:
            self.huey.delete(_lock_key(dataset))

    def lock_dataset(self, dataset: str, run_id: int) -> bool:
        """Take dataset's writing lock for run ``run_id``; False while another live run holds it.

        The lock (a key in the queue's storage) names its run, so a lock left by a killed worker
        is taken over: by the same run when it runs again, or by another once the holder is no
        longer queued nor running with a fresh heartbeat (``jobs.runs.holds_lock``).
        """
        from jobs.runs import holds_lock

        key = _lock_key(dataset)
        if self.huey.put_if_empty(key, run_id):
            return True
        holder = self.huey.get(key, peek=True)
        if holder == run_id or holder is None or not holds_lock(self.engine, int(holder)):
            self.huey.put(key, run_id)
            return True
        return False

    def queue_due_feeds(self) -> list[str]:
        """Queue a job for each scheduled feed that is due (every minute, by huey's scheduler)."""
        from feeds.service import due_feeds

        names = due_feeds(self.engine)
        for name in names:
            self._feed(name)
        return names

    def _feed_task(self, name: str) -> str:
        """Fetch feed ``name`` and import what changed (``feeds.service.run_feed``), if it is still due."""
        from feeds.service import due_feeds, run_feed

        if name not in due_feeds(self.engine):  # queued twice while a long job ran: done already
            return "not due"
        try:
            with self.huey.lock_task(f"feed-{name}"):
                return run_feed(self.engine, name, self.settings).outcome
        except TaskLockedException:
            return "running elsewhere"

    def drain(self, limit: int = 100) -> int:
        """Run the jobs waiting now in this process, one after another; return how many ran (tests, ``--queue``)."""
        ran = 0
        while ran < limit and (task := self.huey.dequeue()) is not None:
            self.huey.execute(task)
            ran += 1
        return ran
