"""A job as its page, the API and ``flask ingest`` show it: state, progress, counts by result, every item, and
for a compilation its result."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.jobs.compile import KIND as COMPILE_KIND
from service.jobs.compile import compile_summary
from service.store import Store
from service.store.models import Job, JobItem


def job_summary(store: Store, job_id: int) -> dict[str, Any]:
    """The job ``job_id`` of any kind as a JSON-ready dict; LookupError when there is no such job."""
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None:
            raise LookupError(job_id)
        items = list(s.scalars(select(JobItem).where(JobItem.job_id == job_id).order_by(JobItem.seq)))
        counts: dict[str, int] = {}
        for item in items:
            if item.state == "done":
                counts[item.result] = counts.get(item.result, 0) + 1
        summary = {"id": job.id, "kind": job.kind, "state": job.state, "campaign": job.campaign_id,
                   "recommender": job.recommender_id, "total": job.total, "done": job.done, "counts": counts,
                   "created_at": job.created_at.isoformat(),
                   "finished_at": job.finished_at.isoformat() if job.finished_at else None,
                   "items": [{"seq": i.seq, "name": i.name, "state": i.state, "result": i.result, "code": i.code,
                              "message": i.message, "submission_id": i.submission_id, "sha256": i.sha256}
                             for i in items]}
        if job.kind == COMPILE_KIND:
            summary["compilation"] = compile_summary(job)
        return summary
