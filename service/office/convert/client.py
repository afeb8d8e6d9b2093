"""Supervised, long-lived LibreOffice converter (legacy/foreign office files -> OOXML/PDF).

Why this shape:

* ``soffice --convert-to`` costs 1.5-2.3 s per file (process start + profile);
  a long-lived LibreOffice driven over UNO converts a .doc in ~0.13 s.
* ``import uno`` only works under Debian's ``/usr/bin/python3``, not in our
  venv, so UNO is driven from a separate worker script
  (``worker.py``) that speaks JSON lines over stdin/stdout.
* A LibreOffice converts one document at a time, grows in memory and now and
  then hangs or dies.  So every worker is supervised: one document at a time,
  a deadline per conversion, the whole process tree killed and restarted on
  timeout or crash, and a planned restart after N conversions.

This module runs inside the web service's venv and must not import Flask; the
caller maps :class:`ConversionError` (``code`` + Chinese ``message``) onto HTTP.

Environment variables (read when a :class:`Converter` is created):

* ``SOFFICE_BIN`` - soffice binary (default: ``soffice`` on PATH, else
  ``/usr/lib/libreoffice/program/soffice``).
* ``UNO_PYTHON`` - interpreter that can ``import uno`` (default ``/usr/bin/python3``).
* ``FONTCONFIG_FILE`` - not read here, but passed through to LibreOffice with
  the rest of the environment, so a fontconfig alias file (e.g. mapping
  SimSun/宋体 to Noto CJK) is honoured.  It must be set before the first
  conversion, as workers inherit the environment when they start.
* ``CONVERT_WORKERS``, ``CONVERT_TIMEOUT``, ``CONVERT_MAX_JOBS`` - defaults for
  the process-wide converter returned by :func:`get_converter`.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import selectors
import shutil
import signal
import stat
import subprocess
import tempfile
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

log = logging.getLogger(__name__)

__all__ = [
    "CONVERT_BUSY",
    "CONVERT_FAILED",
    "CONVERT_TIMEOUT",
    "CONVERT_UNAVAILABLE",
    "CONVERT_UNSUPPORTED",
    "ConversionError",
    "Converter",
    "WorkerInfo",
    "get_converter",
    "shutdown_converter",
]

# Stable error codes (API contract: callers and the front end switch on these).
CONVERT_FAILED = "CONVERT_FAILED"  # LibreOffice could not read/convert this file
CONVERT_TIMEOUT = "CONVERT_TIMEOUT"  # the conversion exceeded its deadline
CONVERT_UNSUPPORTED = (
    "CONVERT_UNSUPPORTED"  # file type / target combination not supported
)
CONVERT_UNAVAILABLE = (
    "CONVERT_UNAVAILABLE"  # LibreOffice cannot be started, or converter shut down
)
CONVERT_BUSY = "CONVERT_BUSY"  # no worker became free in time

TEXT = "text"
SPREADSHEET = "spreadsheet"

# Accepted source extensions and the kind of document they hold.  .wps/.et are
# Kingsoft WPS files; LibreOffice detects them by content (they are
# Word 97 / Excel 97 compatible), so they are passed through as they are.
SOURCE_KINDS: dict[str, str] = {
    ".doc": TEXT,
    ".docx": TEXT,
    ".wps": TEXT,
    ".odt": TEXT,
    ".rtf": TEXT,
    ".xls": SPREADSHEET,
    ".xlsx": SPREADSHEET,
    ".et": SPREADSHEET,
    ".ods": SPREADSHEET,
}

TARGET_KINDS: dict[str, frozenset[str]] = {
    "docx": frozenset({TEXT}),
    "xlsx": frozenset({SPREADSHEET}),
    "pdf": frozenset({TEXT, SPREADSHEET}),
}

# Cheap sanity check on what LibreOffice wrote: OOXML is a ZIP, PDF is PDF.
_OUTPUT_MAGIC = {"docx": b"PK\x03\x04", "xlsx": b"PK\x03\x04", "pdf": b"%PDF"}

WORKER_SCRIPT = Path(__file__).with_name("worker.py")

DEFAULT_UNO_PYTHON = "/usr/bin/python3"
DEFAULT_TIMEOUT = 60.0
DEFAULT_START_TIMEOUT = 60.0
DEFAULT_MAX_JOBS = 200
# How long a graceful stop (stdin EOF) may take before the process groups are killed.
_STOP_GRACE = 5.0


def _default_soffice() -> str:
    return shutil.which("soffice") or "/usr/lib/libreoffice/program/soffice"


def _resave_hint(kind: str) -> str:
    if kind == SPREADSHEET:
        return "请用 Excel/WPS 另存为 .xlsx 后重新上传。"
    return "请用 Word/WPS 另存为 .docx 后重新上传。"


class ConversionError(Exception):
    """A single file could not be converted.

    ``code`` is one of the stable ``CONVERT_*`` strings, ``message`` is a
    Chinese sentence that can be shown to the user as is, ``detail`` is the
    technical reason (English, from LibreOffice/the supervisor) for the logs.
    """

    def __init__(self, code: str, message: str, detail: str = "") -> None:
        super().__init__(f"{code}: {message}" + (f" ({detail})" if detail else ""))
        self.code = code
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class WorkerInfo:
    """Snapshot of one pool slot, for health pages and tests."""

    slot: int
    pid: int | None
    soffice_pid: int | None
    alive: bool
    conversions: int
    generation: int


class _WorkerTimeout(Exception):
    pass


class _WorkerGone(Exception):
    pass


def _kill_group(pgid: int | None) -> None:
    if not pgid:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _remove_sockets(paths: list[str]) -> None:
    """Unlink the /tmp/OSL_PIPE_* sockets a killed soffice left behind."""
    for path in paths:
        if not os.path.basename(path).startswith("OSL_PIPE_"):
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)


class _Worker:
    """One ``worker.py`` process (plus its soffice) owned by a pool slot.

    Not thread-safe by itself: the pool hands a slot to one thread at a time.
    """

    def __init__(
        self, slot: int, uno_python: str, soffice_bin: str, root: Path
    ) -> None:
        self.slot = slot
        self.uno_python = uno_python
        self.soffice_bin = soffice_bin
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self.soffice_pid: int | None = None
        # Fresh LibreOffice profile + soffice TMPDIR; removed whenever the worker dies.
        self.state_dir: Path | None = None
        self.conversions = 0
        self.generation = 0
        # Whether the request before the current one failed on this LibreOffice (see Converter._run).
        self.failed_before = False
        self._last_failed = False
        # soffice's named pipes in /tmp; a SIGKILLed soffice leaves them behind.
        self.sockets: list[str] = []
        self._buffer = bytearray()
        self._selector: selectors.BaseSelector | None = None
        self._stderr_tail: deque[str] = deque(maxlen=40)

    # -- lifecycle -----------------------------------------------------------

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout: float) -> None:
        """Start worker + soffice and wait (bounded) until UNO is connected."""
        self.stop()
        self.generation += 1
        self.conversions = 0
        self.failed_before = self._last_failed = False
        self._buffer.clear()
        self._stderr_tail.clear()
        self.state_dir = Path(
            tempfile.mkdtemp(prefix=f"worker-{self.slot}-", dir=self.root)
        )
        cmd = [
            self.uno_python,
            "-I",  # ignore PYTHONPATH/PYTHONHOME of the venv: the worker needs Debian's own stdlib + uno
            str(WORKER_SCRIPT),
            "--soffice",
            self.soffice_bin,
            "--state-dir",
            str(self.state_dir),
            "--connect-timeout",
            str(timeout),
        ]
        try:
            # Own session/process group, so a timeout kill reaches every child
            # and Ctrl-C on the service's terminal does not.
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                start_new_session=True,
                env=dict(os.environ),
            )
        except OSError as exc:
            self._discard_state()
            raise ConversionError(
                CONVERT_UNAVAILABLE,
                "文件转换服务暂时不可用（无法启动 LibreOffice 转换进程），请稍后重试或联系管理员。",
                f"cannot run {self.uno_python}: {exc}",
            ) from exc
        assert self.proc.stdout is not None and self.proc.stderr is not None
        threading.Thread(
            target=self._drain_stderr,
            args=(self.proc.stderr, self._stderr_tail, self.proc.pid),
            name=f"convert-worker-{self.slot}-stderr",
            daemon=True,
        ).start()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.proc.stdout.fileno(), selectors.EVENT_READ)
        deadline = (
            time.monotonic() + timeout + 5.0
        )  # the worker enforces `timeout` itself
        try:
            while True:
                message = self._read_message(deadline)
                event = message.get("event")
                if event == "spawned":
                    self.soffice_pid = int(message["soffice_pid"])
                elif event == "ready":
                    self.sockets = [str(path) for path in message.get("sockets", [])]
                    break
                elif event == "failed":
                    raise _WorkerGone(str(message.get("error")))
        except (_WorkerTimeout, _WorkerGone) as exc:
            detail = str(exc) or "worker timed out during start-up"
            tail = self.stderr_tail()
            self.kill()
            raise ConversionError(
                CONVERT_UNAVAILABLE,
                "文件转换服务暂时不可用（LibreOffice 未能启动），请稍后重试或联系管理员。",
                f"{detail}; stderr: {tail}" if tail else detail,
            ) from exc
        log.info(
            "convert worker %d started (pid %s, soffice pid %s, generation %d)",
            self.slot,
            self.proc.pid,
            self.soffice_pid,
            self.generation,
        )

    def stop(self, grace: float = _STOP_GRACE) -> None:
        """Graceful stop: stdin EOF lets the worker kill its soffice; then make sure."""
        proc = self.proc
        if proc is not None and proc.poll() is None and grace > 0:
            try:
                assert proc.stdin is not None
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        self.kill()

    def kill(self) -> None:
        """Kill worker and soffice process groups (SIGKILL) and reap; idempotent."""
        proc = self.proc
        if proc is not None:
            _kill_group(proc.pid)
            _kill_group(self.soffice_pid)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                log.error(
                    "convert worker %d (pid %s) did not die after SIGKILL",
                    self.slot,
                    proc.pid,
                )
            for stream in (proc.stdin, proc.stdout):
                try:
                    if stream is not None:
                        stream.close()
                except OSError:
                    pass
        elif self.soffice_pid:
            _kill_group(self.soffice_pid)
        selector, self._selector = self._selector, None
        if selector is not None:
            selector.close()
        self.proc = None
        self.soffice_pid = None
        self._discard_state()
        _remove_sockets(self.sockets)
        self.sockets = []

    def _discard_state(self) -> None:
        if self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None

    # -- I/O -----------------------------------------------------------------

    @staticmethod
    def _drain_stderr(stream: Any, tail: deque[str], pid: int) -> None:
        """Keep the stderr pipe empty (a full pipe would block soffice) and remember the end."""
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                tail.append(line)
                log.debug("convert worker pid %d: %s", pid, line)
        stream.close()

    def stderr_tail(self, lines: int = 5) -> str:
        return " | ".join(list(self._stderr_tail)[-lines:])

    def _read_message(self, deadline: float) -> dict[str, Any]:
        """Next JSON line from the worker, or _WorkerTimeout/_WorkerGone."""
        assert (
            self.proc is not None
            and self.proc.stdout is not None
            and self._selector is not None
        )
        fd = self.proc.stdout.fileno()
        while True:
            newline = self._buffer.find(b"\n")
            if newline >= 0:
                line = bytes(self._buffer[:newline])
                del self._buffer[: newline + 1]
                try:
                    message = json.loads(line)
                except ValueError:
                    log.warning(
                        "convert worker %d: unparsable line %r", self.slot, line[:200]
                    )
                    continue
                if isinstance(message, dict):
                    return message
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                raise _WorkerTimeout()
            chunk = os.read(fd, 65536)
            if not chunk:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
                raise _WorkerGone(f"worker exited with code {self.proc.returncode}")
            self._buffer.extend(chunk)

    def request(self, payload: dict[str, Any], deadline: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        self.conversions += 1
        self.failed_before, self._last_failed = self._last_failed, True  # until this one answers ok
        try:
            self.proc.stdin.write(
                (json.dumps(payload, ensure_ascii=True) + "\n").encode("ascii")
            )
        except OSError as exc:  # BrokenPipeError: the worker is gone
            raise _WorkerGone(f"cannot write to worker: {exc}") from exc
        message = self._read_message(deadline)
        if "ok" not in message:
            raise _WorkerGone(f"unexpected worker message {message!r}")
        self._last_failed = not message["ok"]
        return message

    def info(self) -> WorkerInfo:
        return WorkerInfo(
            slot=self.slot,
            pid=self.proc.pid if self.proc is not None else None,
            soffice_pid=self.soffice_pid,
            alive=self.alive(),
            conversions=self.conversions,
            generation=self.generation,
        )


def _sweep_stale_roots(parent: Path) -> None:
    """Remove private dirs of converters whose process no longer exists."""
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


_live_converters: weakref.WeakSet[Converter] = weakref.WeakSet()


class Converter:
    """A pool of supervised LibreOffice workers; ``convert`` is thread-safe.

    Each worker converts one document at a time.  Workers start lazily on
    first use (or eagerly via :meth:`start`), are health-checked before every
    use, killed and restarted after a timeout or crash (only that file fails),
    and recycled after ``max_jobs_per_worker`` conversions to bound
    LibreOffice's memory growth.  Restarts after a failure/recycle run in the
    background so the failing caller gets its error immediately.
    """

    def __init__(
        self,
        workers: int = 1,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_jobs_per_worker: int = DEFAULT_MAX_JOBS,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        queue_timeout: float | None = None,
        soffice_bin: str | None = None,
        uno_python: str | None = None,
        tmp_dir: str | os.PathLike[str] | None = None,
    ) -> None:
        """
        :param workers: number of LibreOffice processes (parallel conversions).
        :param timeout: per-conversion deadline in seconds (worker start-up not included).
        :param max_jobs_per_worker: restart a worker after this many conversions.
        :param start_timeout: bound on soffice start-up + UNO connection.
        :param queue_timeout: how long ``convert`` waits for a free worker before
            ``CONVERT_BUSY``; default ``timeout + start_timeout``.
        :param soffice_bin: default ``$SOFFICE_BIN``, else soffice on PATH.
        :param uno_python: default ``$UNO_PYTHON``, else ``/usr/bin/python3``.
        :param tmp_dir: parent for the private temp dir (default: system temp).
        """
        if workers < 1:
            raise ValueError("workers must be >= 1")
        if max_jobs_per_worker < 1:
            raise ValueError("max_jobs_per_worker must be >= 1")
        self.timeout = float(timeout)
        self.max_jobs_per_worker = int(max_jobs_per_worker)
        self.start_timeout = float(start_timeout)
        self.queue_timeout = float(queue_timeout) if queue_timeout is not None else None
        self.soffice_bin = (
            soffice_bin or os.environ.get("SOFFICE_BIN") or _default_soffice()
        )
        self.uno_python = (
            uno_python or os.environ.get("UNO_PYTHON") or DEFAULT_UNO_PYTHON
        )
        self._owner_pid = os.getpid()
        _sweep_stale_roots(Path(tmp_dir or tempfile.gettempdir()))
        # The pid in the name lets a later converter remove this dir should
        # this process die without running atexit (SIGKILL, OOM killer).
        self._root = Path(
            tempfile.mkdtemp(prefix=f"docconvert-{os.getpid()}-", dir=tmp_dir)
        )
        self._jobs_root = self._root / "jobs"
        self._jobs_root.mkdir()
        self._workers = [
            _Worker(i, self.uno_python, self.soffice_bin, self._root)
            for i in range(workers)
        ]
        self._idle: list[_Worker] = list(self._workers)
        self._cond = threading.Condition()
        self._closed = False
        self._restarts: set[threading.Thread] = set()
        self._starts = 0
        self._stats_lock = threading.Lock()
        _live_converters.add(self)

    # -- public API ----------------------------------------------------------

    def convert(
        self, data: bytes, src_ext: str, target: str, *, timeout: float | None = None
    ) -> bytes:
        """Convert ``data`` (a file with extension ``src_ext``) to ``target``.

        :param src_ext: ".doc", ".xls", ".wps", ".et", ".odt", ".ods", ".docx",
            ".xlsx" or ".rtf" (case-insensitive, dot optional).
        :param target: "docx", "xlsx" or "pdf".
        :param timeout: override the converter's per-conversion deadline.
        :returns: the converted file's bytes.
        :raises ConversionError: for this file only; the converter stays usable.
        """
        ext = src_ext.lower().strip()
        if not ext.startswith("."):
            ext = "." + ext
        target = target.lower().strip().lstrip(".")
        kind = SOURCE_KINDS.get(ext)
        hint = _resave_hint(kind or TEXT)
        if kind is None:
            raise ConversionError(
                CONVERT_UNSUPPORTED,
                f"不支持的文件类型“{ext}”，请上传 Word（.doc/.docx/.wps/.rtf/.odt）"
                "或 Excel（.xls/.xlsx/.et/.ods）文件。",
                f"unsupported source extension {ext!r}",
            )
        if target not in TARGET_KINDS:
            raise ConversionError(
                CONVERT_UNSUPPORTED,
                f"不支持转换为“{target}”格式。",
                f"unsupported target {target!r}",
            )
        if kind not in TARGET_KINDS[target]:
            raise ConversionError(
                CONVERT_UNSUPPORTED,
                f"无法把{'电子表格' if kind == SPREADSHEET else '文字文档'}（{ext}）转换为 .{target} 文件，请检查上传的文件是否正确。",
                f"{kind} source {ext} cannot become {target}",
            )
        if not data:
            raise ConversionError(
                CONVERT_FAILED,
                f"文件无法由 LibreOffice 转换：文件为空。{hint}",
                "empty input",
            )
        deadline_s = self.timeout if timeout is None else float(timeout)

        self._check_open()
        try:
            job_dir = Path(tempfile.mkdtemp(prefix="job-", dir=self._jobs_root))
        except OSError as exc:
            self._check_open()  # shut down concurrently: report that, not the OSError
            raise ConversionError(
                CONVERT_UNAVAILABLE,
                "文件转换服务暂时不可用（无法创建临时文件），请稍后重试或联系管理员。",
                f"cannot create job dir: {exc}",
            ) from exc
        try:
            src = job_dir / f"input{ext}"
            dst = job_dir / f"output.{target}"
            try:
                src.write_bytes(data)
            except OSError as exc:
                raise ConversionError(
                    CONVERT_UNAVAILABLE,
                    "文件转换服务暂时不可用（无法写入临时文件），请稍后重试或联系管理员。",
                    f"cannot write input: {exc}",
                ) from exc
            payload = {"src": str(src), "dst": str(dst), "target": target}
            self._run(payload, deadline_s, hint, ext, target)
            try:
                result = dst.read_bytes()
            except OSError as exc:
                raise ConversionError(
                    CONVERT_FAILED,
                    f"文件无法由 LibreOffice 转换：没有生成输出文件。{hint}",
                    f"output missing: {exc}",
                ) from exc
            if not result.startswith(_OUTPUT_MAGIC[target]):
                raise ConversionError(
                    CONVERT_FAILED,
                    f"文件无法由 LibreOffice 转换：生成的文件无效。{hint}",
                    f"output does not look like {target} ({result[:8]!r})",
                )
            return result
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)

    def start(self) -> None:
        """Start all idle workers now (optional warm-up; otherwise they start on first use)."""
        with self._cond:
            self._check_open()
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
            thread.join(timeout=self.start_timeout + _STOP_GRACE + 10)
        if (
            os.getpid() == self._owner_pid
        ):  # a forked child must not kill its parent's workers
            for worker in self._workers:
                worker.stop()
            shutil.rmtree(self._root, ignore_errors=True)
        _live_converters.discard(self)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()

    # -- internals -----------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise ConversionError(
                CONVERT_UNAVAILABLE,
                "文件转换服务已停止，请稍后重试。",
                "converter is shut down",
            )

    def _acquire(self) -> _Worker:
        wait = (
            self.queue_timeout
            if self.queue_timeout is not None
            else self.timeout + self.start_timeout
        )
        with self._cond:
            self._check_open()
            if not self._cond.wait_for(
                lambda: self._idle or self._closed, timeout=wait
            ):
                raise ConversionError(
                    CONVERT_BUSY,
                    "文件转换服务繁忙，请稍后重试。",
                    f"no free worker within {wait:.0f} s",
                )
            self._check_open()
            return self._idle.pop()

    def _release(self, worker: _Worker) -> None:
        with self._cond:
            self._idle.append(worker)
            self._cond.notify()

    def _release_all(self, workers: list[_Worker]) -> None:
        with self._cond:
            self._idle.extend(workers)
            self._cond.notify_all()

    def _start_worker(self, worker: _Worker) -> None:
        with self._stats_lock:
            self._starts += 1
        worker.start(self.start_timeout)

    def _ensure_healthy(self, worker: _Worker) -> None:
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

    def _restart_in_background(self, worker: _Worker) -> None:
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

    def _run(
        self, payload: dict[str, Any], timeout: float, hint: str, ext: str, target: str
    ) -> None:
        """Send one request to a healthy worker; translate every failure into ConversionError."""
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
                except _WorkerTimeout:
                    log.warning(
                        "convert worker %d: %s timed out after %.3f s; killing it",
                        worker.slot,
                        ext,
                        timeout,
                    )
                    worker.kill()
                    self._restart_in_background(worker)
                    handed_off = True
                    raise ConversionError(
                        CONVERT_TIMEOUT,
                        f"文件转换超时（超过 {timeout:g} 秒），文件可能过大或已损坏。{hint}",
                        f"no answer within {timeout} s",
                    ) from None
                except _WorkerGone as exc:
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
                    raise ConversionError(
                        CONVERT_FAILED,
                        f"文件无法由 LibreOffice 转换：转换进程异常退出。{hint}",
                        detail,
                    ) from None

                if reply.get("ok"):
                    return
                error = str(reply.get("error", "unknown error"))
                if reply.get("fatal"):
                    worker.kill()
                    if attempt == 1 and (reply.get("stale") or worker.failed_before):
                        # soffice had died while idle (this file was never
                        # touched), or it died during this file right after
                        # another one failed on it — the likelier culprit,
                        # which can leave LibreOffice broken for the next
                        # call: try this file once more on a fresh worker.
                        log.warning(
                            "convert worker %d died (%s); retrying on a fresh one",
                            worker.slot,
                            "idle" if reply.get("stale") else "after a failed file",
                        )
                        continue
                    self._restart_in_background(worker)
                    handed_off = True
                code = str(reply.get("code") or CONVERT_FAILED)
                if code == CONVERT_UNSUPPORTED:
                    message = f"文件内容与扩展名“{ext}”不符，无法转换为 .{target} 文件。{hint}"
                else:
                    code = CONVERT_FAILED
                    message = f"文件无法由 LibreOffice 转换：文件可能已损坏、已加密或不是有效的 Word/Excel 文档。{hint}"
                raise ConversionError(code, message, error)
            finally:
                if handed_off:
                    pass
                elif worker.alive() and worker.conversions >= self.max_jobs_per_worker:
                    # Planned recycle to bound LibreOffice's memory growth.
                    self._restart_in_background(worker)
                else:
                    self._release(worker)
        raise AssertionError("unreachable")  # pragma: no cover


_singleton: Converter | None = None
_singleton_lock = threading.Lock()


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        log.warning("ignoring invalid %s=%r", name, raw)
        return default


def get_converter() -> Converter:
    """The process-wide converter, created on first use (workers start lazily).

    A forked child (e.g. a pre-forking WSGI server) gets its own converter
    instead of sharing the parent's worker pipes.
    """
    global _singleton
    with _singleton_lock:
        if (
            _singleton is None
            or _singleton._owner_pid != os.getpid()
            or _singleton._closed
        ):
            _singleton = Converter(
                workers=int(_env_number("CONVERT_WORKERS", 1)),
                timeout=_env_number("CONVERT_TIMEOUT", DEFAULT_TIMEOUT),
                max_jobs_per_worker=int(
                    _env_number("CONVERT_MAX_JOBS", DEFAULT_MAX_JOBS)
                ),
            )
        return _singleton


def shutdown_converter() -> None:
    """Stop the process-wide converter (a later get_converter() starts a new one)."""
    global _singleton
    with _singleton_lock:
        converter, _singleton = _singleton, None
    if converter is not None:
        converter.shutdown()


@atexit.register
def _shutdown_all() -> None:
    """Never leave soffice processes behind when the service exits."""
    for converter in list(_live_converters):
        try:
            converter.shutdown()
        except Exception:  # pragma: no cover - best effort at exit
            log.exception("error shutting down converter")
