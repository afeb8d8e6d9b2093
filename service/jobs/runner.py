"""Where jobs run: the :class:`JobRunner` interface, the in-process :class:`ThreadRunner`, and the dispatch from a
job's kind to the code that runs it.

:class:`ThreadRunner` runs jobs in a worker thread of this process (started with the app) and resumes unfinished
jobs when it starts. A deployment that outgrows one machine implements :class:`JobRunner` on its task queue and
calls the same :func:`run_any`. Every job claims its row first (:mod:`service.jobs.claim`), so runners in several
processes never run one job twice.

Order is fair, not first come first served: staff's jobs first, then every user's oldest job before anyone's
second (:func:`fair_order`). A unit that queues many compilations therefore delays a staff ingest by at most the
one job already running, and other units by one job of its own each round; :func:`service.jobs.admission.admit`
caps how many jobs one user may have waiting at all.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from service.jobs.admission import UNFINISHED
from service.jobs.claim import Heartbeat, claim
from service.jobs.compile import KIND as COMPILE_KIND
from service.jobs.compile import run_compile_job
from service.jobs.ingest import run_job
from service.store import Store, store_for
from service.store.models import Job, User

log = logging.getLogger(__name__)
STAFF = "admin"

_runner_lock = threading.Lock()


class JobRunner(Protocol):
    """Where jobs run: in this process (:class:`ThreadRunner`) or on a distributed task queue."""

    def submit(self, job_id: int) -> None: ...


def fair_order(store: Store) -> list[int]:
    """Unfinished jobs in the order they should run: staff first, then round by round over users (each user's
    oldest job, then each one's second …), oldest first within a round."""
    with store.session() as s:
        rows = s.execute(select(Job.id, Job.created_by, User.role).outerjoin(User, User.username == Job.created_by)
                         .where(Job.state.in_(UNFINISHED)).order_by(Job.id)).all()
    seen: dict[str, int] = {}
    keyed = []
    for job_id, created_by, role in rows:
        rank = seen[created_by] = seen.get(created_by, -1) + 1
        keyed.append((role != STAFF, rank, job_id))
    return [job_id for *_, job_id in sorted(keyed)]


def unfinished_jobs(store: Store, kind: str | None = None) -> list[int]:
    """Jobs not yet done or failed, oldest first (of one kind, or all)."""
    query = select(Job.id).where(Job.state.in_(UNFINISHED))
    if kind:
        query = query.where(Job.kind == kind)
    with store.session() as s:
        return list(s.scalars(query.order_by(Job.id)))


def run_any(store: Store, job_id: int, kind: str) -> None:
    """Run a job of any kind to its end (what a runner calls)."""
    if kind == COMPILE_KIND:
        run_compile_job(store, job_id)
    else:
        run_job(store, job_id)


class ThreadRunner:
    """Jobs in a worker thread of this process, in :func:`fair_order`; unfinished jobs are resumed when it starts.

    ``queue`` holds wake-ups, not job ids: each one makes the worker run every job it can claim, fairest first,
    before it is marked done (so ``queue.join()`` waits until the jobs submitted so far have run).
    """

    def __init__(self, store: Store, run_here: bool = True) -> None:
        self.store = store
        self.run_here = run_here  # False: this process only queues (the web behind a `flask worker` process)
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="jth-jobs", daemon=True)
        self.started = False

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.queue.put(0)  # resume what an earlier process left unfinished
            self.thread.start()

    def submit(self, job_id: int) -> None:
        """Run the job here, or, when this process only queues, leave it queued in the database for the worker."""
        if not self.run_here:
            return
        self.start()
        self.queue.put(job_id)

    def _loop(self) -> None:
        while True:
            self.queue.get()
            try:
                self._run_all()
            except SQLAlchemyError as exc:  # e.g. the database is not migrated yet (flask init-db is about to run)
                log.warning("jobs not run: %s", str(exc).splitlines()[0][:200])
            finally:
                self.queue.task_done()

    def _run_all(self) -> None:
        passed: set[int] = set()  # claimed by another process, or just run: not again in this round
        while True:
            job_id = next((j for j in fair_order(self.store) if j not in passed), None)
            if job_id is None:
                return
            passed.add(job_id)
            self._run_one(job_id)

    def _run_one(self, job_id: int) -> None:
        try:
            with self.store.session() as s:
                job = s.get(Job, job_id)
                if job is None or job.state in ("done", "failed"):
                    return
                kind = job.kind
            if not claim(self.store, job_id):
                return  # another worker process runs it
            with Heartbeat(self.store, job_id):  # beats from its own thread, however long a step takes
                run_any(self.store, job_id, kind)
        except Exception as exc:  # a job must never take the worker down with it
            log.exception("job %s failed", job_id)
            with self.store.session.begin() as s:
                job = s.get(Job, job_id)
                if job is not None:
                    job.state, job.error = "failed", str(exc)[:2000]


def runner_for(app: Any) -> ThreadRunner:
    """The app's job runner, made once per app (the pages, the API and the autostart share it; the lock keeps two
    first requests from making two). It starts on first use, or when the app starts it under a web server."""
    with _runner_lock:
        runner = app.extensions.get("jth_jobs")
        if runner is None:
            runner = app.extensions["jth_jobs"] = ThreadRunner(store_for(app),
                                                               run_here=bool(app.config.get("JOBS_RUN_HERE", True)))
        return runner
