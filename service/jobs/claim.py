"""Which process runs a job: a claim in the job's row, taken over when its owner died or went silent.

Every kind of job claims its row before it runs, so two worker processes (or a worker and ``flask ingest
--resume``) never run the same job at once. It lives apart from :mod:`service.jobs.runner` because the jobs
themselves claim (a job run from the command line has no runner) and the runner imports the jobs.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading

from sqlalchemy import or_, update

from service.store import Store
from service.store.models import Job, utcnow

STALE = dt.timedelta(seconds=60)  # the default of Store.claim_timeout (JTH_JOB_CLAIM_TIMEOUT)


def stale_after(store: Store) -> dt.timedelta:
    """How long a claim's owner may stay silent before another process or host takes the job over."""
    return dt.timedelta(seconds=store.claim_timeout)


def _owner_alive(owner: str | None) -> bool:
    """Whether the process that claimed a job still runs (known for this host; otherwise by its heartbeat)."""
    if not owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def claim(store: Store, job_id: int) -> bool:
    """Take a job for this process: unclaimed, ours, or left by a process that died or went silent."""
    me = f"{socket.gethostname()}:{os.getpid()}"
    with store.session.begin() as s:
        job = s.get(Job, job_id)
        if job is None or job.state in ("done", "failed"):
            return False
        owner = job.claimed_by
        stale = job.heartbeat_at is None or _aware(job.heartbeat_at) < utcnow() - stale_after(store)
        if owner not in (None, me) and _owner_alive(owner) and not stale:
            return False
        result = s.execute(update(Job).where(Job.id == job_id, or_(Job.claimed_by.is_(None), Job.claimed_by == owner))
                           .values(claimed_by=me, heartbeat_at=utcnow()))
        return result.rowcount == 1


class Heartbeat:
    """While a claimed job runs, a thread of its own writes the claim's heartbeat every ``every`` seconds, so that a
    long step (one LibreOffice conversion, one big PDF) never looks like a dead owner to another host: the work
    itself no longer has to beat. Used as ``with Heartbeat(store, job_id): run(...)``. It beats four times per
    claim timeout, so one missed beat (a busy database) never loses the claim."""

    def __init__(self, store: Store, job_id: int, every: float | None = None) -> None:
        self.store, self.job_id = store, job_id
        self.every = every if every is not None else stale_after(store).total_seconds() / 4
        self.me = f"{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"jth-heartbeat-{job_id}", daemon=True)

    def _beat(self) -> None:
        while not self._stop.wait(self.every):
            try:
                with self.store.session.begin() as s:
                    s.execute(update(Job).where(Job.id == self.job_id, Job.claimed_by == self.me)
                              .values(heartbeat_at=utcnow()))
            except Exception:  # a missed beat is retried next time; the job must not die of it
                continue

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(self.every + 5)
