"""Bulk ingest as a resumable job: files, folders and zips filed one entry at a time through the intake.

A job is kept in the database item by item. Spooling stores every entry's bytes (content-addressed) and
writes one ``job_items`` row per entry; processing files each pending item through :func:`intake.receive`
and marks it done. Both steps can be cut at any instant (kill -9) and run again: entries already spooled are
skipped by their sequence number, an item whose submission was filed just before the cut is recognised by
its upload's channel (``bulk:<job>:<seq>``), so nothing is lost and nothing is counted twice.

Runners (:mod:`service.jobs.runner`) call :func:`run_job`; so does ``flask ingest``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.actions.intake import file_submission, record_upload, refresh_related
from service.actions.scan_check import Pictures
from service.forms.catalog import Catalog, catalog
from service.jobs.admission import admit
from service.jobs.claim import claim
from service.office.batch import read_batch
from service.office.limits import DEFAULT_LIMITS
from service.office.rejected import InputRejected
from service.office.zipguard import ARCHIVE_EXTENSIONS
from service.parse.pipeline import parse
from service.problems.catalogue import message
from service.store import Store
from service.store.audit import audit
from service.store.models import Job, JobItem, StoredFile, Submission, utcnow

log = logging.getLogger(__name__)

COMMIT_EVERY = 100
CHUNK = 25  # items filed per transaction (times the parse workers)


@dataclass
class Entry:
    """One file to ingest, or the reason it cannot be."""

    name: str
    data: bytes | None = None
    code: str = ""
    message: str = ""


# ---- sources ----------------------------------------------------------------------------------------------


def _skipped(name: str) -> bool:
    """Files a zip tool or a desktop added on its own: nobody meant to submit them."""
    base = PurePosixPath(name.replace("\\", "/")).name
    return name.startswith("__MACOSX/") or base.startswith(".") or base in ("Thumbs.db", "desktop.ini")


def zip_entries(path: Path, prefix: str = "", label: str = "") -> Iterator[Entry]:
    """Entries of a zip, read one at a time behind the office zip guard, each refused clearly when unsafe,
    nested or too large.

    ``label`` names the archive itself in its own errors (an uploaded zip is stored under its sha256).
    """
    try:
        for entry in read_batch(path, skip=_skipped):
            if entry.problem is not None:
                yield Entry(prefix + entry.name, code=entry.problem.code, message=entry.problem.message)
            elif entry.name.lower().endswith(ARCHIVE_EXTENSIONS):
                yield Entry(prefix + entry.name, data=entry.data, code="ARCHIVE_NESTED",
                            message=message("ARCHIVE_NESTED"))
            else:
                yield Entry(prefix + entry.name, data=entry.data)
    except InputRejected as exc:
        log.info("zip %s refused: %s", path.name, exc.detail)
        yield Entry(prefix + (label or path.name), code=exc.code, message=exc.message)


def source_entries(source: dict[str, Any], store: Store) -> Iterator[Entry]:
    """Entries of one source: a path (file, folder, zip) or a file already in the store (an uploaded zip)."""
    if source["kind"] == "stored":
        if source["name"].lower().endswith(".zip"):
            # The zip is read entry by entry from a file: the store's own, or a download of the object kept
            # while the entries are read.
            with store.files.local_path(source["sha256"]) as path:
                yield from zip_entries(path, label=source["name"])
        else:
            yield Entry(source["name"], data=store.files.get(source["sha256"]))
        return
    path = Path(source["path"])
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            rel = child.relative_to(path).as_posix()
            if child.name.startswith(".") or "__MACOSX" in child.parts:
                continue
            if child.suffix.lower() == ".zip":
                yield from zip_entries(child, prefix=f"{path.name}/{rel}!")
            elif child.stat().st_size > DEFAULT_LIMITS.max_file_bytes:
                yield Entry(f"{path.name}/{rel}", code="FILE_TOO_LARGE",
                            message=message("FILE_TOO_LARGE", "folder_entry"))
            else:
                yield Entry(f"{path.name}/{rel}", data=child.read_bytes())
    elif path.suffix.lower() == ".zip":
        yield from zip_entries(path, prefix=f"{path.name}!")
    elif not path.exists():
        yield Entry(path.name, code="FILE_NOT_FOUND", message=message("FILE_NOT_FOUND", path=path))
    elif path.stat().st_size > DEFAULT_LIMITS.max_file_bytes:
        yield Entry(path.name, code="FILE_TOO_LARGE", message=message("FILE_TOO_LARGE", "folder_entry"))
    else:
        yield Entry(path.name, data=path.read_bytes())


# ---- the job ----------------------------------------------------------------------------------------------


def create_job(store: Store, sources: list[dict[str, Any]], campaign_id: str, recommender_id: str,
               created_by: str) -> int:
    """Queue a bulk ingest of ``sources`` (paths, or a zip already in the store) for one recommender; returns the
    job id. Nothing is read yet: the runner spools and files the entries."""
    with store.session.begin() as s:
        admit(s, created_by)
        job = Job(kind="ingest", campaign_id=campaign_id, recommender_id=recommender_id, created_by=created_by,
                  sources=sources, state="queued")
        s.add(job)
        s.flush()
        audit(s, created_by, "ingest", f"job:{job.id}", sources=[src.get("name") or src.get("path") for src in sources])
        return job.id


def _spool(store: Store, job_id: int) -> None:
    with store.session() as s:
        job = s.get(Job, job_id)
        if job.spooled:
            return
        sources = list(job.sources)
        job.state = "spooling"
        s.commit()
        seen = set(s.scalars(select(JobItem.seq).where(JobItem.job_id == job_id)))
    seq = 0
    pending: list[JobItem] = []
    known: set[str] = set()

    def flush() -> None:
        store.files.sync()  # the batch's bytes are on disk before its rows say they are stored
        with store.session.begin() as s:
            for item in pending:
                if item.sha256 and item.sha256 not in known and s.get(StoredFile, item.sha256) is None:
                    s.add(StoredFile(sha256=item.sha256, size=item.size))
                    s.flush()
                if item.sha256:
                    known.add(item.sha256)
                s.add(item)
            s.get(Job, job_id).heartbeat_at = utcnow()
        pending.clear()

    for source in sources:
        for entry in source_entries(source, store):
            seq += 1
            if seq in seen:
                continue
            sha = store.files.put(entry.data, durable=False) if entry.data is not None else None
            item = JobItem(job_id=job_id, seq=seq, name=entry.name[:400], sha256=sha,
                           size=len(entry.data) if entry.data is not None else 0)
            if entry.code:
                item.state, item.result, item.code, item.message = "done", "unreadable", entry.code, entry.message
            pending.append(item)
            if len(pending) >= COMMIT_EVERY:
                flush()
    flush()
    with store.session.begin() as s:
        job = s.get(Job, job_id)
        job.spooled = True
        job.total = s.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job_id))
        job.done = s.scalar(select(func.count()).select_from(JobItem).where(JobItem.job_id == job_id,
                                                                            JobItem.state == "done"))


def _parse_item(args: tuple[bytes, str, str, Any]) -> tuple[Any, Pictures]:
    """One file parsed (in a worker process, maybe): its result and the pictures of the cells read by OCR, which
    the parent stores when it files the result."""
    data, name, campaign_id, received = args
    pictures = Pictures()
    return parse(data, name, campaign=campaign_id, received_at=received, keep_picture=pictures), pictures


def _base(name: str) -> str:
    """The file's own name inside ``bundle.zip!folder/file.docx``."""
    return name.rsplit("!", 1)[-1].rsplit("/", 1)[-1]


def run_job(store: Store, job_id: int, *, progress: Callable[[int, int], None] | None = None,
            cat: Catalog | None = None, workers: int = 0) -> Job:
    """Run (or resume) a bulk ingest to the end. ``workers`` > 1 parses in that many processes.

    Items are filed in chunks, each chunk in one transaction with its items marked done: a process stopped at
    any instant leaves every item either filed and done, or untouched and pending.
    Raises RuntimeError when another live process holds the job.
    """
    cat = cat or catalog()
    if not claim(store, job_id):
        raise RuntimeError(f"导入任务 {job_id} 正由另一个进程处理")
    _spool(store, job_id)
    with store.session.begin() as s:
        job = s.get(Job, job_id)
        job.state = "running"
        campaign_id, recommender_id, by, total = job.campaign_id, job.recommender_id, job.created_by, job.total
        pending = list(s.execute(select(JobItem.id, JobItem.seq, JobItem.name, JobItem.sha256)
                                 .where(JobItem.job_id == job_id, JobItem.state == "pending").order_by(JobItem.seq)))
        done = job.done
    if progress:
        progress(done, total)
    pool = ProcessPoolExecutor(workers) if workers > 1 and len(pending) > 1 else None
    size = CHUNK * max(1, workers)
    chunks = [pending[i:i + size] for i in range(0, len(pending), size)]

    def start(chunk: list[Any]) -> tuple[list[bytes], Any, Any]:
        datas = [store.files.get(sha) for _id, _seq, _name, sha in chunk]
        now = utcnow()
        args = [(d, _base(n), campaign_id, now) for d, (_i, _s, n, _h) in zip(datas, chunk, strict=True)]
        # With workers, the next chunk parses in the pool while this process files the current one.
        return datas, now, ([pool.submit(_parse_item, a) for a in args] if pool else [_parse_item(a) for a in args])

    try:
        ahead = start(chunks[0]) if chunks else None
        for k, chunk in enumerate(chunks):
            datas, now, parsed = ahead
            ahead = start(chunks[k + 1]) if pool and k + 1 < len(chunks) else None
            results = [p.result() for p in parsed] if pool else parsed
            _file_chunk(store, job_id, chunk, datas, results, campaign_id, recommender_id, by, now, cat)
            if not pool and k + 1 < len(chunks):
                ahead = start(chunks[k + 1])
            done += len(chunk)
            if progress:
                progress(done, total)
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    refresh_related(store, campaign_id, recommender_id, cat)
    with store.session.begin() as s:
        job = s.get(Job, job_id)
        # Statuses may have changed when the rules across files ran at the end: one statement, no rows in memory.
        s.execute(update(JobItem).where(JobItem.job_id == job_id, JobItem.submission_id.is_not(None),
                                        JobItem.result != "duplicate")
                  .values(result=select(Submission.status).where(Submission.id == JobItem.submission_id)
                          .scalar_subquery()).execution_options(synchronize_session=False))
        job.state, job.finished_at = "done", utcnow()
        job.done = job.total
        audit(s, by, "ingest_done", f"job:{job.id}", total=job.total)
    with store.session() as s:
        return s.get(Job, job_id)


def _file_chunk(store: Store, job_id: int, chunk: list[Any], datas: list[bytes], results: list[Any], campaign_id: str,
                recommender_id: str, by: str, now: Any, cat: Catalog) -> None:
    def file_all(s: Session, rows: list[Any]) -> None:
        updates = []
        for (item_id, seq, name, sha), data, (result, pictures) in rows:
            upload_id = record_upload(s, sha, len(data), _base(name), campaign_id=campaign_id,
                                      recommender_id=recommender_id, uploader=by, channel=f"bulk:{job_id}:{seq}",
                                      received=now, file_row=False)  # the spool made the stored-file row
            got = file_submission(s, store, result, sha=sha, upload_id=upload_id, filename=_base(name),
                                  campaign_id=campaign_id, recommender_id=recommender_id, uploader=by, received=now,
                                  cat=cat, pictures=pictures)
            updates.append({"id": item_id, "state": "done", "submission_id": got.submission_id, "code": got.code,
                            "result": "duplicate" if got.outcome == "duplicate" else got.status,
                            "message": got.message})
        s.execute(update(JobItem), updates)
        s.execute(update(Job).where(Job.id == job_id).values(done=Job.done + len(rows), heartbeat_at=utcnow()))

    rows = list(zip(chunk, datas, results, strict=True))
    try:
        with store.session.begin() as s:
            file_all(s, rows)
    except IntegrityError:
        # The same bytes arrived through another channel at this moment: file one by one.
        for row in rows:
            with store.session.begin() as s:
                file_all(s, [row])
