"""Where jobs run: the :class:`JobRunner` interface, the in-process :class:`ThreadRunner`, and the choice between it
and Celery (:func:`runner_for`).

:class:`ThreadRunner` runs jobs in a worker thread of this process (started with the app) and resumes unfinished
jobs when it starts; it is the default and needs no server. Past one machine, ``CELERY_BROKER`` selects
:class:`service.jobs.celery_runner.CeleryRunner` (Celery with Redis), which calls the same
:func:`service.jobs.dispatch.run_fairest`.
Every job claims its row first (:mod:`service.jobs.claim`), so runners in several processes or hosts never run one
job twice.
The order (staff first, then round by round over users) and the claim are in :mod:`service.jobs.dispatch`.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError

from service.jobs.dispatch import fair_order, run_claimed
from service.store import Store, store_for

log = logging.getLogger(__name__)

_runner_lock = threading.Lock()


class JobRunner(Protocol):
    """Where jobs run: in this process (:class:`ThreadRunner`) or on Celery (:class:`CeleryRunner`)."""

    def start(self) -> None: ...

    def submit(self, job_id: int) -> None: ...


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
            run_claimed(self.store, job_id)


def runner_for(app: Any) -> JobRunner:
    """The app's job runner, made once per app (the pages, the API and the autostart share it; the lock keeps two
    first requests from making two): Celery when ``CELERY_BROKER`` is set (:mod:`service.jobs.celery_runner`),
    else the in-process :class:`ThreadRunner`, which starts on first use or when the app starts it under a web
    server."""
    with _runner_lock:
        runner = app.extensions.get("jth_jobs")
        if runner is None:
            store = store_for(app)
            if broker := str(app.config.get("CELERY_BROKER") or ""):
                from service.jobs.celery_runner import CeleryRunner  # Celery loads only where it is configured

                runner = CeleryRunner(store, broker)
            else:
                runner = ThreadRunner(store, run_here=bool(app.config.get("JOBS_RUN_HERE", True)))
            app.extensions["jth_jobs"] = runner
        return runner
