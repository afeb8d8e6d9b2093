"""The 资料汇编 as a background job: a whole campaign converts hundreds of documents, far longer than a request.

A compile job has no items: it runs :func:`service.outputs.dossier.build_compilation` with a progress callback
that writes ``done``/``total`` (and the heartbeat) to its row, stores the PDF content-addressed like every other
file and keeps its sha256 and the list of documents that could not go in. A job cut short (process killed) is claimed
again when a runner starts and simply compiles again: the result depends only on the current submissions.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.jobs.admission import admit
from service.jobs.claim import claim
from service.store import Store
from service.store.models import Job, StoredFile, utcnow

KIND = "compile"
PROGRESS_EVERY = dt.timedelta(seconds=1)


def create_compile_job(store: Store, campaign_id: str, recommender_id: str | None, created_by: str) -> int:
    """Queue the compilation of a campaign (or of one recommender's submissions); returns the job id."""
    with store.session.begin() as s:
        admit(s, created_by)
        job = Job(kind=KIND, campaign_id=campaign_id, recommender_id=recommender_id or "", created_by=created_by,
                  sources=[], spooled=True)
        s.add(job)
        s.flush()
        return job.id


def run_compile_job(store: Store, job_id: int) -> Job:
    """Compile to the end and keep the PDF; a compilation that cannot be made fails the job with its reason."""
    from service.outputs.dossier import CompileError, build_compilation  # pdfkit and pypdf load only where a job runs

    if not claim(store, job_id):
        raise RuntimeError(f"汇编任务 {job_id} 正由另一个进程处理")
    with store.session.begin() as s:
        job = s.get(Job, job_id)
        job.state, job.done, job.error = "running", 0, ""
        campaign_id, recommender_id, actor = job.campaign_id, job.recommender_id or None, job.created_by
    last = [utcnow() - PROGRESS_EVERY]

    def progress(done: int, total: int) -> None:
        now = utcnow()
        if done not in (0, total) and now - last[0] < PROGRESS_EVERY:
            return
        last[0] = now
        with store.session.begin() as s:
            job = s.get(Job, job_id)
            job.done, job.total, job.heartbeat_at = done, total, now

    try:
        result = build_compilation(store, campaign_id, recommender_id, actor=actor, progress=progress)
    except (CompileError, LookupError) as exc:
        with store.session.begin() as s:
            job = s.get(Job, job_id)
            job.state, job.error, job.finished_at = "failed", str(exc), utcnow()
        return job
    sha = store.files.put(result.pdf)
    with store.session.begin() as s:
        if s.get(StoredFile, sha) is None:
            s.add(StoredFile(sha256=sha, size=len(result.pdf)))
        job = s.get(Job, job_id)
        job.state, job.finished_at, job.result_sha256 = "done", utcnow(), sha
        job.done = job.total = result.documents
        job.report = {"pages": result.pages, "documents": result.documents, "size": len(result.pdf),
                      "failures": result.failures}
    return job


def compile_summary(job: Job) -> dict[str, Any]:
    """What a compile job's page and API show beyond the common job fields."""
    report = job.report or {}
    return {"result_sha256": job.result_sha256, "pages": report.get("pages"), "documents": report.get("documents"),
            "size": report.get("size"), "failures": report.get("failures", []), "error": job.error}
