"""A pool of supervised LibreOffice workers: slots handed to one caller at a time, health checks, restarts.

A LibreOffice converts one document at a time, grows in memory and now and then hangs or dies. So each slot
holds one :class:`WorkerProcess`, started lazily, health-checked before every use, killed and replaced in
the background after a timeout or crash (only that file fails), and recycled after ``max_jobs_per_worker``
conversions to bound its memory. What a failure means for the caller's file is said by
:mod:`service.office.convert.client`; the pool only reports what happened to the worker.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
import threading
import time
import weakref
from pathlib import Path
from typing import Any

from service.office.convert.process import STOP_GRACE, WorkerGone, WorkerInfo, WorkerProcess, WorkerTimeout
from service.office.convert.protocol import CONVERT_BUSY, CONVERT_UNAVAILABLE, ConversionError

log = logging.getLogger(__name__)

#: Every pool not yet shut down, so that exiting the service never leaves soffice processes behind
#: (weak: a pool nobody holds any more is not kept alive by this).
_live_pools: weakref.WeakSet[Pool] = weakref.WeakSet()


def _sweep_stale_roots(parent: Path) -> None:
    """Remove private dirs of pools whose process no longer exists."""
    try:
        entries = list(parent.glob("docconvert-*-*"))
    except OSError:
        return
    for entry in entries:
        pid_text = entry.name.split("-")[1]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            log.info("removing stale converter dir %s", entry)
            shutil.rmtree(entry, ignore_errors=True)
        except OSError:
            continue  # alive (e.g. EPERM: another user's process)


class Pool:
    """Worker slots and their supervision; :meth:`run` is thread-safe.

    Restarts after a failure or recycle run in the background so the failing caller gets its answer at once.
    """

    def __init__(
        self,
        workers: int,
        *,
        max_jobs_per_worker: int,
        start_timeout: float,
        queue_timeout: float,
        soffice_bin: str,
        uno_python: str,
        tmp_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """
        :param workers: number of LibreOffice processes (parallel conversions).
        :param max_jobs_per_worker: restart a worker after this many conversions.
        :param start_timeout: bound on soffice start-up + UNO connection.
        :param queue_timeout: how long :meth:`run` waits for a free worker before ``CONVERT_BUSY``.
        :param tmp_dir: parent for the private temp dir (default: system temp).
        """
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if max_jobs_per_worker < 1:
            raise ValueError("max_jobs_per_worker must be >= 1")
        self.max_jobs_per_worker = int(max_jobs_per_worker)
        self.start_timeout = float(start_timeout)
        self.queue_timeout = float(queue_timeout)
        self.owner_pid = os.getpid()
        _sweep_stale_roots(Path(tmp_dir or tempfile.gettempdir()))
        # The pid in the name lets a later pool remove this dir should
        # this process die without running atexit (SIGKILL, OOM killer).
        self.root = Path(
            tempfile.mkdtemp(prefix=f"docconvert-{os.getpid()}-", dir=tmp_dir)
        )
        self._workers = [
            WorkerProcess(i, uno_python, soffice_bin, self.root)
            for i in range(workers)
        ]
        self._idle: list[WorkerProcess] = list(self._workers)
        self._cond = threading.Condition()
        self._closed = False
        self._restarts: set[threading.Thread] = set()
        self._starts = 0
        self._stats_lock = threading.Lock()
        _live_pools.add(self)

    # -- public API ----------------------------------------------------------

    @property
    def closed(self) -> bool:
        """Whether :meth:`shutdown` has run."""
        return self._closed

    def check_open(self) -> None:
        """Raise CONVERT_UNAVAILABLE once the pool is shut down."""
        if self._closed:
            raise ConversionError(CONVERT_UNAVAILABLE, "stopped", detail="converter is shut down")

    def start(self) -> None:
        """Start all idle workers now (optional warm-up; otherwise they start on first use)."""
        with self._cond:
            self.check_open()
            idle = list(self._idle)
            self._idle.clear()
        try:
            for worker in idle:
                if not worker.alive():
                    self._start_worker(worker)
        finally:
            self._release_all(idle)

    def workers(self) -> list[WorkerInfo]:
        """Snapshot of the pool (pids, liveness, conversions since last restart)."""
        return [w.info() for w in self._workers]

    @property
    def worker_starts(self) -> int:
        """How many worker processes have been started so far (1 per slot + restarts)."""
        return self._starts

    def shutdown(self) -> None:
        """Stop all workers and soffice processes and remove the private temp dir; idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
            restarts = list(self._restarts)
        for thread in restarts:
            thread.join(timeout=self.start_timeout + STOP_GRACE + 10)
        if (
            os.getpid() == self.owner_pid
        ):  # a forked child must not kill its parent's workers
            for worker in self._workers:
                worker.stop()
            shutil.rmtree(self.root, ignore_errors=True)
        _live_pools.discard(self)

    def run(self, payload: dict[str, Any], timeout: float) -> dict[str, Any]:
        """Send one request to a healthy worker and return its answer, whether ``ok`` or not.

        Raises :class:`WorkerTimeout` or :class:`WorkerGone` (its text: what happened, with the end of the
        worker's stderr) once that worker is killed and being replaced; :class:`ConversionError` when no
        worker became free in time, none can start, or the pool is shut down. A fatal answer is retried
        once on a fresh worker when soffice died before touching this file, or right after another file
        failed on it (the likelier culprit, which can leave LibreOffice broken for the next call).
        """
        ext = Path(str(payload.get("src", ""))).suffix
        for attempt in (1, 2):
            worker = self._acquire()
            handed_off = False
            try:
                try:
                    self._ensure_healthy(worker)
                except ConversionError:
                    worker.kill()
                    raise
                deadline = time.monotonic() + timeout
                try:
                    reply = worker.request(payload, deadline)
                except WorkerTimeout:
                    log.warning(
                        "convert worker %d: %s timed out after %.3f s; killing it",
                        worker.slot,
                        ext,
                        timeout,
                    )
                    worker.kill()
                    self._restart_in_background(worker)
                    handed_off = True
                    raise
                except WorkerGone as exc:
                    detail = f"{exc}; stderr: {worker.stderr_tail()}"
                    log.warning(
                        "convert worker %d crashed converting %s: %s",
                        worker.slot,
                        ext,
                        detail,
                    )
                    worker.kill()
                    self._restart_in_background(worker)
                    handed_off = True
                    raise WorkerGone(detail) from None

                if reply.get("ok"):
                    return reply
                if reply.get("fatal"):
                    worker.kill()
                    if attempt == 1 and (reply.get("stale") or worker.failed_before):
                        log.warning(
                            "convert worker %d died (%s); retrying on a fresh one",
                            worker.slot,
                            "idle" if reply.get("stale") else "after a failed file",
                        )
                        continue
                    self._restart_in_background(worker)
                    handed_off = True
                return reply
            finally:
                if handed_off:
                    pass
                elif worker.alive() and worker.conversions >= self.max_jobs_per_worker:
                    # Planned recycle to bound LibreOffice's memory growth.
                    self._restart_in_background(worker)
                else:
                    self._release(worker)
        raise AssertionError("unreachable")  # pragma: no cover

    # -- internals -----------------------------------------------------------

    def _acquire(self) -> WorkerProcess:
        wait = self.queue_timeout
        with self._cond:
            self.check_open()
            if not self._cond.wait_for(
                lambda: self._idle or self._closed, timeout=wait
            ):
                raise ConversionError(CONVERT_BUSY, detail=f"no free worker within {wait:.0f} s")
            self.check_open()
            return self._idle.pop()

    def _release(self, worker: WorkerProcess) -> None:
        with self._cond:
            self._idle.append(worker)
            self._cond.notify()

    def _release_all(self, workers: list[WorkerProcess]) -> None:
        with self._cond:
            self._idle.extend(workers)
            self._cond.notify_all()

    def _start_worker(self, worker: WorkerProcess) -> None:
        with self._stats_lock:
            self._starts += 1
        worker.start(self.start_timeout)

    def _ensure_healthy(self, worker: WorkerProcess) -> None:
        """Health check before use: a dead or worn-out worker is (re)started first."""
        if worker.alive() and worker.conversions < self.max_jobs_per_worker:
            return
        if worker.proc is not None:
            log.warning(
                "convert worker %d not usable (alive=%s, conversions=%d); restarting",
                worker.slot,
                worker.alive(),
                worker.conversions,
            )
        worker.kill()
        self._start_worker(worker)

    def _restart_in_background(self, worker: WorkerProcess) -> None:
        """Replace a killed/worn-out worker without making the current caller wait."""

        def run() -> None:
            try:
                worker.stop()
                with self._cond:
                    closed = self._closed
                if not closed:
                    try:
                        self._start_worker(worker)
                    except ConversionError as exc:  # retried synchronously on next use
                        log.error(
                            "convert worker %d restart failed: %s", worker.slot, exc
                        )
                with self._cond:
                    closed = self._closed
                if closed:
                    worker.stop()
            finally:
                with self._cond:
                    self._restarts.discard(threading.current_thread())
                self._release(worker)

        thread = threading.Thread(
            target=run, name=f"convert-worker-{worker.slot}-restart", daemon=True
        )
        with self._cond:
            self._restarts.add(thread)
        thread.start()


@atexit.register
def _shutdown_all() -> None:
    """Never leave soffice processes behind when the service exits."""
    for pool in list(_live_pools):
        try:
            pool.shutdown()
        except Exception:  # pragma: no cover - best effort at exit
            log.exception("error shutting down converter")
