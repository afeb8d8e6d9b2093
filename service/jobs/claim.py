"""Which process runs a job: a claim in the job's row, taken over when its owner died or went silent.

Every kind of job claims its row before it runs, so two worker processes (or a worker and ``flask ingest
--resume``) never run the same job at once. It lives apart from :mod:`service.jobs.runner` because the jobs
themselves claim (a job run from the command line has no runner) and the runner imports the jobs.
"""

from __future__ import annotations

import datetime as dt
import os
import socket

from sqlalchemy import or_, update

from service.store import Store
from service.store.models import Job, utcnow

STALE = dt.timedelta(seconds=60)


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
        stale = job.heartbeat_at is None or _aware(job.heartbeat_at) < utcnow() - STALE
        if owner not in (None, me) and _owner_alive(owner) and not stale:
            return False
        result = s.execute(update(Job).where(Job.id == job_id, or_(Job.claimed_by.is_(None), Job.claimed_by == owner))
                           .values(claimed_by=me, heartbeat_at=utcnow()))
        return result.rowcount == 1
