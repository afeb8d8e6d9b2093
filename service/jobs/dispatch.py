"""Which job runs next and how a job of any kind runs: the fair order, the claim under a heartbeat, the dispatch
from a job's kind to its code. Every runner calls these (:mod:`service.jobs.runner`'s thread, Celery's task in
:mod:`service.jobs.celery_runner`, ``flask ingest --resume``), so the order and the claim are the same everywhere.

Order is fair, not first come first served: staff's jobs first, then every user's oldest job before anyone's
second (:func:`fair_order`). A unit that queues many compilations therefore delays a staff ingest by at most the
one job already running, and other units by one job of its own each round; :func:`service.jobs.admission.admit`
caps how many jobs one user may have waiting at all.
"""

from __future__ import annotations

import logging

from sqlalchemy import select

from service.jobs.admission import UNFINISHED
from service.jobs.claim import Heartbeat, claim
from service.jobs.compile import KIND as COMPILE_KIND
from service.jobs.compile import run_compile_job
from service.jobs.ingest import run_job
from service.store import Store
from service.store.models import Job, User

log = logging.getLogger(__name__)
STAFF = "admin"


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


def run_claimed(store: Store, job_id: int) -> bool:
    """Claim a job and run it to its end under a heartbeat; False when it is finished or another live process holds
    it. A failure is written to the job, never raised: a job must not take its worker down with it."""
    try:
        with store.session() as s:
            job = s.get(Job, job_id)
            if job is None or job.state in ("done", "failed"):
                return False
            kind = job.kind
        if not claim(store, job_id):
            return False  # another worker process runs it
        with Heartbeat(store, job_id):  # beats from its own thread, however long a step takes
            run_any(store, job_id, kind)
        return True
    except Exception as exc:
        log.exception("job %s failed", job_id)
        with store.session.begin() as s:
            job = s.get(Job, job_id)
            if job is not None:
                job.state, job.error = "failed", str(exc)[:2000]
        return True


def run_fairest(store: Store) -> int | None:
    """Run the fairest job this process can claim (:func:`fair_order`); its id, or None when there was none."""
    for job_id in fair_order(store):
        if run_claimed(store, job_id):
            return job_id
    return None
