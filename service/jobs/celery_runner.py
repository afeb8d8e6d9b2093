"""Jobs on Celery with Redis, for an installation of more than one host (``JTH_CELERY_BROKER=redis://…``).

Why Celery with Redis: it is what this field already runs (docassemble and KoboToolbox queue their background work
on it), Debian ships the broker (``redis-server``), and a worker is one more process of the same code. The embedded
:class:`service.jobs.runner.ThreadRunner` stays the default; this runner is used only where a broker is configured.

How the pieces divide the work:

- **A message is a wake-up, not an order.** The task runs the fairest job this worker can claim
  (:func:`service.jobs.dispatch.run_fairest`), exactly as the embedded runner's round does, so staff's ingest still
  comes before a unit's third compilation whatever order the broker delivers in.
- **The database claim is the one authority** over who runs a job (:mod:`service.jobs.claim`). A message delivered
  twice (a redelivery, a sweep) finds the job claimed by a live owner and does nothing; a job never runs twice.
- **Nothing is lost with a worker.** Messages are acknowledged after their job (``acks_late``), so a worker killed
  mid-job leaves its message to the broker; and every worker sweeps: a job whose owner stopped beating for the claim
  timeout, or one queued while the broker was unreachable, gets a new message. The job itself resumes item by item
  (:mod:`service.jobs.ingest`).
- **Heartbeats come from a thread** (:class:`service.jobs.claim.Heartbeat`), never from the work.

A worker runs one job at a time (Celery's solo pool; a bulk ingest parses in its own process pool): run more
``flask worker`` processes, on this host or others, to run more jobs at once.
"""

from __future__ import annotations

import datetime as dt
import logging
import socket
import threading
from typing import Any

from celery import Celery
from kombu.exceptions import ChannelError
from sqlalchemy import or_, select

from service.jobs.admission import UNFINISHED
from service.jobs.claim import stale_after
from service.jobs.dispatch import run_fairest
from service.store import Store
from service.store.models import Job, utcnow

log = logging.getLogger(__name__)

QUEUE = "jth-jobs"
TASK = "jth.jobs.run"
# Sending a message when the broker is down: a few quick tries, then the job waits in the database for a sweep
# rather than holding the person's request.
PUBLISH_RETRY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5, "interval_max": 1}


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class CeleryRunner:
    """Submit jobs to Celery, and (in ``flask worker``) run them."""

    def __init__(self, store: Store, broker: str, *, queue: str = QUEUE) -> None:
        self.store, self.queue = store, queue
        self.celery = Celery("jth", broker=broker, set_as_current=False)
        self.celery.conf.update(
            task_default_queue=queue,
            task_acks_late=True,  # acknowledged when the job ends: a worker lost mid-job leaves its message
            task_reject_on_worker_lost=True,
            task_ignore_result=True,  # progress and results are in the database, where every page reads them
            task_serializer="json", accept_content=["json"],
            worker_prefetch_multiplier=1,  # a worker holds only the message it works on
            worker_hijack_root_logger=False,
            broker_connection_retry_on_startup=True,
            broker_transport_options={"visibility_timeout": 3600},
        )
        self.task = self.celery.task(name=TASK, ignore_result=True)(self._run)

    # ---- the web side --------------------------------------------------------------------------------------

    def start(self) -> None:
        """Nothing to start in a process that only sends: the workers resume unfinished jobs."""

    def submit(self, job_id: int) -> None:
        """Send a wake-up for a job just queued. When the broker cannot be reached, the job waits in the database
        and the next sweep of any worker sends it."""
        try:
            self.task.apply_async((job_id,), retry=True, retry_policy=PUBLISH_RETRY)
        except Exception as exc:  # kombu's OperationalError and friends: the job is safe in the database
            log.warning("job %s queued in the database only (broker: %s)", job_id, exc)

    # ---- the worker side ------------------------------------------------------------------------------------

    def _run(self, job_id: int = 0) -> int | None:
        """The task: run the fairest job this process can claim (``job_id`` names the job the message was sent for,
        for the log)."""
        ran = run_fairest(self.store)
        log.info("message for job %s: ran %s", job_id, ran if ran is not None else "nothing (all claimed or done)")
        return ran

    def waiting_messages(self) -> int:
        """Messages in the broker's queue that no worker has taken yet (Redis keeps no empty queue: none is 0)."""
        with self.celery.connection_for_write() as conn:
            try:
                return conn.default_channel.queue_declare(self.queue, passive=True).message_count
            except ChannelError:
                return 0

    def orphans(self) -> list[int]:
        """Unfinished jobs that no message will reach: their owner stopped beating for the claim timeout, or they
        were queued at least that long ago and nobody ever claimed them (the broker was down, or lost them)."""
        limit = utcnow() - stale_after(self.store)
        with self.store.session() as s:
            rows = s.execute(select(Job.id, Job.claimed_by, Job.heartbeat_at, Job.created_at)
                             .where(Job.state.in_(UNFINISHED),
                                    or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < limit))
                             .order_by(Job.id)).all()
        return [job_id for job_id, owner, beat, created in rows
                if (beat is not None and _aware(beat) < limit) or (owner is None and _aware(created) < limit)]

    def sweep(self) -> list[int]:
        """Send a message for every orphaned job, when no message is waiting (one waiting already wakes a worker,
        and it runs the fairest job, orphans included). Returns the jobs sent for."""
        try:
            if self.waiting_messages():
                return []
            orphans = self.orphans()
            for job_id in orphans:
                self.task.apply_async((job_id,), retry=True, retry_policy=PUBLISH_RETRY)
        except Exception as exc:  # the broker or the database is away for now: the next sweep tries again
            log.warning("sweep skipped: %s", exc)
            return []
        if orphans:
            log.info("sweep: sent messages for jobs %s", orphans)
        return orphans

    def work(self, *, every: float = 10.0, hostname: str | None = None, loglevel: str = "INFO") -> int:
        """Run a Celery worker in this process until it is told to stop (SIGTERM or SIGINT: a warm shutdown that
        lets the running job end; SIGQUIT: at once, and another worker resumes the job). A sweeper thread checks
        for orphaned jobs every ``every`` seconds, and once at the start. Returns the worker's exit code."""
        stopping = threading.Event()

        def sweeper() -> None:
            while True:
                self.sweep()
                if stopping.wait(every):
                    return

        thread = threading.Thread(target=sweeper, name="jth-sweeper", daemon=True)
        thread.start()
        worker: Any = self.celery.Worker(
            hostname=hostname or f"jth@{socket.gethostname()}", pool_cls="solo", concurrency=1, loglevel=loglevel,
            queues=[self.queue], without_gossip=True, without_mingle=True, optimization="fair", quiet=True)
        try:
            worker.start()
        finally:
            stopping.set()
            thread.join(5)
        return int(worker.exitcode or 0)
