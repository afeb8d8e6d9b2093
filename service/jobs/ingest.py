"""Bulk ingest as a resumable job, and the small interface that runs jobs (ingest and :mod:`compile_jobs`).

A job is kept in the database item by item. Spooling stores every entry's bytes (content-addressed) and
writes one ``job_items`` row per entry; processing files each pending item through :func:`intake.receive`
and marks it done. Both steps can be cut at any instant (kill -9) and run again: entries already spooled are
skipped by their sequence number, an item whose submission was filed just before the cut is recognised by
its upload's channel (``bulk:<job>:<seq>``), so nothing is lost and nothing is counted twice.

:class:`ThreadRunner` runs jobs in-process (a worker thread started with the app) and resumes unfinished
jobs when it starts. A deployment that outgrows one machine implements :class:`JobRunner` on its task queue
and calls the same :func:`run_job`.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import queue
import socket
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from service.actions.intake import file_submission, record_upload, refresh_related
from service.forms.catalog import Catalog, catalog
from service.jobs.compile import KIND as COMPILE_KIND
from service.jobs.compile import compile_summary, run_compile_job
from service.office.safety import InputRejected, zip_directory
from service.parse.pipeline import parse
from service.store import Store
from service.store.audit import audit
from service.store.models import Job, JobItem, StoredFile, Submission, utcnow

log = logging.getLogger(__name__)

MAX_ENTRY_BYTES = 20 * 1024 * 1024
MAX_ENTRIES = 50_000
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
ARCHIVE_EXTS = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz")
COMMIT_EVERY = 100
CHUNK = 25  # items filed per transaction (times the parse workers)
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


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class JobRunner(Protocol):
    """Where jobs run: in this process (:class:`ThreadRunner`) or on a distributed task queue."""

    def submit(self, job_id: int) -> None: ...


@dataclass
class Entry:
    """One file to ingest, or the reason it cannot be."""

    name: str
    data: bytes | None = None
    code: str = ""
    message: str = ""


# ---- sources ----------------------------------------------------------------------------------------------


def _zip_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its author saw it. Without the UTF-8 flag zipfile reads names as cp437; they are
    really UTF-8 (zips made on Linux and macOS) or GBK (Chinese Windows), tried in that order: GBK text is
    almost never valid UTF-8, the reverse often is."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


def _central_directory_entries(path: Path) -> int | None:
    """How many entries the zip's central directory holds, counted before zipfile builds an object for each
    (a 30 MB zip can hold 300,000 of them). None when its end records are missing (zipfile will say why)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        tail_len = min(size, 22 + 65535)
        fh.seek(size - tail_len)
        try:
            declared, cd_size, cd_end = zip_directory(fh.read(tail_len), size - tail_len)
        except InputRejected:
            return None
        start = max(0, cd_end - cd_size)
        fh.seek(start)
        region = fh.read(min(cd_end - start, 256 * 1024 * 1024))
    return max(declared, region.count(b"PK\x01\x02"))


def _overlapping(infos: list[zipfile.ZipInfo]) -> bool:
    """Entries whose data overlap (one deflated block named many times: the “non-recursive” zip bomb)."""
    ordered = sorted(infos, key=lambda i: i.header_offset)
    for here, nxt in zip(ordered, ordered[1:], strict=False):
        if here.header_offset + 30 + here.compress_size > nxt.header_offset:
            return True
    return False


def _unsafe(name: str) -> bool:
    path = PurePosixPath(name.replace("\\", "/"))
    return name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":") or ".." in path.parts


def _read_bounded(fh, limit: int) -> bytes | None:
    """Read at most ``limit`` bytes; None when there is more (declared sizes can lie)."""
    chunks, total = [], 0
    while True:
        chunk = fh.read(65536)
        if not chunk:
            return b"".join(chunks)
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)


def zip_entries(path: Path, prefix: str = "", label: str = "") -> Iterator[Entry]:
    """Entries of a zip, read one at a time, each refused clearly when unsafe, nested or too large.

    ``label`` names the archive itself in its own errors (an uploaded zip is stored under its sha256).
    """
    whole = prefix + (label or path.name)
    broken = Entry(whole, code="ZIP_CORRUPT", message="压缩包已损坏，无法打开。请重新打包后上传。")
    try:
        count = _central_directory_entries(path)
    except OSError:
        count = None
    if count is not None and count > MAX_ENTRIES:
        yield Entry(whole, code="ZIP_BOMB", message=f"压缩包中的文件超过 {MAX_ENTRIES} 个，请分批上传。")
        return
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, struct.error) as exc:
        log.info("zip %s cannot be opened: %s", path.name, exc)
        yield broken
        return
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir() and not i.filename.startswith("__MACOSX/")]
        if len(infos) > MAX_ENTRIES:
            yield Entry(whole, code="ZIP_BOMB", message=f"压缩包中的文件超过 {MAX_ENTRIES} 个，请分批上传。")
            return
        if _overlapping(zf.infolist()):
            yield Entry(whole, code="ZIP_BOMB",
                        message="压缩包结构异常：多个文件共用同一段压缩数据（常见于“压缩炸弹”），已拒收整个压缩包。"
                                "请把文件重新打包后上传。")
            return
        total = 0
        for info in infos:
            name = _zip_name(info)
            base = PurePosixPath(name.replace("\\", "/")).name
            if _unsafe(name):
                yield Entry(prefix + name, code="ZIP_UNSAFE_PATH",
                            message="压缩包中的文件路径不安全（含“..”或绝对路径），已拒收该文件。请重新打包后上传。")
                continue
            if base.startswith(".") or base in ("Thumbs.db", "desktop.ini"):
                continue
            if info.file_size > MAX_ENTRY_BYTES:
                yield Entry(prefix + name, code="FILE_TOO_LARGE",
                            message=f"文件超过 {MAX_ENTRY_BYTES // (1024 * 1024)} MB 的上限，未读取。")
                continue
            total += info.file_size
            if total > MAX_TOTAL_BYTES:
                yield Entry(prefix + name, code="ZIP_BOMB", message="压缩包解压后过大，其余文件未读取，请分批上传。")
                return
            try:
                with zf.open(info) as fh:
                    data = _read_bounded(fh, MAX_ENTRY_BYTES)
            except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError, EOFError, zlib.error) as exc:
                log.info("zip entry %s cannot be read: %s", name, exc)
                if info.flag_bits & 0x1:
                    yield Entry(prefix + name, code="FILE_ENCRYPTED",
                                message="压缩包中的这个文件设置了解压密码，平台无法读取。请去掉密码后重新打包上传。")
                else:
                    yield Entry(prefix + name, code="ZIP_CORRUPT",
                                message="压缩包中的这个文件已损坏，无法解压。请重新打包后上传。")
                continue
            if data is None:
                yield Entry(prefix + name, code="FILE_TOO_LARGE",
                            message=f"文件超过 {MAX_ENTRY_BYTES // (1024 * 1024)} MB 的上限，未读取。")
                continue
            if base.lower().endswith(ARCHIVE_EXTS) or data.startswith(b"PK\x03\x04") and base.lower().endswith(".zip"):
                yield Entry(prefix + name, data=data, code="ARCHIVE_NESTED",
                            message="压缩包中又嵌套了压缩包，未展开。请把其中的文件直接放进一个压缩包后上传。")
                continue
            yield Entry(prefix + name, data=data)


def source_entries(source: dict[str, Any], store: Store) -> Iterator[Entry]:
    """Entries of one source: a path (file, folder, zip) or a file already in the store (an uploaded zip)."""
    if source["kind"] == "stored":
        path = store.files.path(source["sha256"])
        if source["name"].lower().endswith(".zip"):
            yield from zip_entries(path, label=source["name"])
        else:
            yield Entry(source["name"], data=path.read_bytes())
        return
    path = Path(source["path"])
    if path.is_dir():
        for child in sorted(p for p in path.rglob("*") if p.is_file()):
            rel = child.relative_to(path).as_posix()
            if child.name.startswith(".") or "__MACOSX" in child.parts:
                continue
            if child.suffix.lower() == ".zip":
                yield from zip_entries(child, prefix=f"{path.name}/{rel}!")
            elif child.stat().st_size > MAX_ENTRY_BYTES:
                yield Entry(f"{path.name}/{rel}", code="FILE_TOO_LARGE", message="文件过大，未读取。")
            else:
                yield Entry(f"{path.name}/{rel}", data=child.read_bytes())
    elif path.suffix.lower() == ".zip":
        yield from zip_entries(path, prefix=f"{path.name}!")
    elif not path.exists():
        yield Entry(path.name, code="FILE_NOT_FOUND", message=f"找不到文件 {path}。")
    elif path.stat().st_size > MAX_ENTRY_BYTES:
        yield Entry(path.name, code="FILE_TOO_LARGE", message="文件过大，未读取。")
    else:
        yield Entry(path.name, data=path.read_bytes())


# ---- the job ----------------------------------------------------------------------------------------------


def create_job(store: Store, sources: list[dict[str, Any]], campaign_id: str, recommender_id: str,
               created_by: str) -> int:
    with store.session.begin() as s:
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


def _parse_item(args: tuple[bytes, str, str, Any]) -> Any:
    data, name, campaign_id, received = args
    return parse(data, name, campaign=campaign_id, received_at=received)


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
        for (item_id, seq, name, sha), data, result in rows:
            upload_id = record_upload(s, sha, len(data), _base(name), campaign_id=campaign_id,
                                      recommender_id=recommender_id, uploader=by, channel=f"bulk:{job_id}:{seq}",
                                      received=now, file_row=False)  # the spool made the stored-file row
            got = file_submission(s, store, result, sha=sha, upload_id=upload_id, filename=_base(name),
                                  campaign_id=campaign_id, recommender_id=recommender_id, uploader=by, received=now,
                                  cat=cat)
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


def job_summary(store: Store, job_id: int) -> dict[str, Any]:
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


def unfinished_jobs(store: Store, kind: str | None = None) -> list[int]:
    """Jobs not yet done or failed, oldest first (of one kind, or all)."""
    query = select(Job.id).where(Job.state.in_(("queued", "spooling", "running")))
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
    """Jobs in a worker thread of this process; unfinished jobs are resumed when it starts."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.queue: queue.Queue[int] = queue.Queue()
        self.thread = threading.Thread(target=self._loop, name="jth-jobs", daemon=True)
        self.started = False

    def start(self) -> None:
        if not self.started:
            self.started = True
            try:
                for job_id in unfinished_jobs(self.store):
                    self.queue.put(job_id)
            except SQLAlchemyError as exc:  # the database is not migrated yet (flask init-db is about to run)
                log.warning("no jobs resumed: %s", str(exc).splitlines()[0][:200])
            self.thread.start()

    def submit(self, job_id: int) -> None:
        self.start()
        self.queue.put(job_id)

    def _loop(self) -> None:
        while True:
            job_id = self.queue.get()
            try:
                with self.store.session() as s:
                    job = s.get(Job, job_id)
                    if job is None or job.state in ("done", "failed"):
                        continue
                    kind = job.kind
                if not claim(self.store, job_id):
                    continue  # another worker process runs it
                run_any(self.store, job_id, kind)
            except Exception as exc:  # a job must never take the worker down with it
                log.exception("job %s failed", job_id)
                with self.store.session.begin() as s:
                    job = s.get(Job, job_id)
                    if job is not None:
                        job.state, job.error = "failed", str(exc)[:2000]
            finally:
                self.queue.task_done()
