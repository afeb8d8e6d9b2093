"""Converting legacy and foreign office files to OOXML or PDF: :class:`Converter` and the process-wide one.

Why this shape:

* ``soffice --convert-to`` costs 1.5-2.3 s per file (process start + profile);
  a long-lived LibreOffice driven over UNO converts a .doc in ~0.13 s.
* ``import uno`` only works under Debian's ``/usr/bin/python3``, not in our
  venv, so UNO is driven from a separate worker script (``worker.py``) that
  speaks JSON lines over stdin/stdout (:mod:`.protocol`), supervised by a
  pool (:mod:`.pool`) that kills and restarts it on timeout or crash.

This module checks what is asked (source type, target), hands the file to the pool through a private
temporary folder, checks what comes back, and words every failure for the person who sent the file. It runs
inside the web service's venv and must not import Flask; the caller maps :class:`ConversionError`
(``code`` + Chinese ``message``) onto HTTP.

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

import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Self

from service.office.convert.pool import Pool
from service.office.convert.process import WorkerGone, WorkerInfo, WorkerTimeout
from service.office.convert.protocol import (
    CONVERT_FAILED,
    CONVERT_TIMEOUT,
    CONVERT_UNAVAILABLE,
    CONVERT_UNSUPPORTED,
    ConversionError,
    request,
)
from service.office.sniff import PDF, ZIP, media_type

log = logging.getLogger(__name__)

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

# Cheap sanity check on what LibreOffice wrote: OOXML is a zip, PDF is PDF.
_OUTPUT_TYPES = {"docx": ZIP, "xlsx": ZIP, "pdf": PDF}

# Defaults of Converter(); get_converter() reads CONVERT_TIMEOUT and CONVERT_MAX_JOBS over them.
DEFAULT_UNO_PYTHON = "/usr/bin/python3"
DEFAULT_TIMEOUT = 60.0
DEFAULT_START_TIMEOUT = 60.0
DEFAULT_MAX_JOBS = 200


def _default_soffice() -> str:
    return shutil.which("soffice") or "/usr/lib/libreoffice/program/soffice"


#: How a person re-saves a document of each kind (the ``{apps}`` and ``{save_as}`` of the converter's fixes),
#: and what the kind is called in a refusal.
_RESAVE: dict[str, dict[str, str]] = {
    TEXT: {"apps": "Word/WPS", "save_as": "docx"},
    SPREADSHEET: {"apps": "Excel/WPS", "save_as": "xlsx"},
}
_KIND_LABELS = {TEXT: "文字文档", SPREADSHEET: "电子表格"}


class Converter:
    """Converts documents on a pool of supervised LibreOffice workers; ``convert`` is thread-safe.

    Each worker converts one document at a time.  Workers start lazily on
    first use (or eagerly via :meth:`start`), are health-checked before every
    use, killed and restarted after a timeout or crash (only that file fails),
    and recycled after ``max_jobs_per_worker`` conversions to bound
    LibreOffice's memory growth.
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
        self.timeout = float(timeout)
        self.pool = Pool(
            workers,
            max_jobs_per_worker=max_jobs_per_worker,
            start_timeout=start_timeout,
            queue_timeout=float(queue_timeout) if queue_timeout is not None else self.timeout + float(start_timeout),
            soffice_bin=soffice_bin or os.environ.get("SOFFICE_BIN") or _default_soffice(),
            uno_python=uno_python or os.environ.get("UNO_PYTHON") or DEFAULT_UNO_PYTHON,
            tmp_dir=tmp_dir,
        )
        # Each conversion's input and output, in a folder of its own inside the pool's private one.
        self._jobs_root = self.pool.root / "jobs"
        self._jobs_root.mkdir()

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
        resave = _RESAVE[kind or TEXT]
        if kind is None:
            raise ConversionError(CONVERT_UNSUPPORTED, "source", ext=ext,
                                  detail=f"unsupported source extension {ext!r}")
        if target not in TARGET_KINDS:
            raise ConversionError(CONVERT_UNSUPPORTED, "target", target=target, detail=f"unsupported target {target!r}")
        if kind not in TARGET_KINDS[target]:
            raise ConversionError(CONVERT_UNSUPPORTED, "kind", kind=_KIND_LABELS[kind], ext=ext, target=target,
                                  detail=f"{kind} source {ext} cannot become {target}")
        if not data:
            raise ConversionError(CONVERT_FAILED, "empty", **resave, detail="empty input")
        deadline_s = self.timeout if timeout is None else float(timeout)

        self.pool.check_open()
        try:
            job_dir = Path(tempfile.mkdtemp(prefix="job-", dir=self._jobs_root))
        except OSError as exc:
            self.pool.check_open()  # shut down concurrently: report that, not the OSError
            raise ConversionError(CONVERT_UNAVAILABLE, "no_job_dir", detail=f"cannot create job dir: {exc}") from exc
        try:
            src = job_dir / f"input{ext}"
            dst = job_dir / f"output.{target}"
            try:
                src.write_bytes(data)
            except OSError as exc:
                raise ConversionError(CONVERT_UNAVAILABLE, "no_input", detail=f"cannot write input: {exc}") from exc
            self._run(request(str(src), str(dst), target), deadline_s, resave, ext, target)
            try:
                result = dst.read_bytes()
            except OSError as exc:
                raise ConversionError(CONVERT_FAILED, "no_output", **resave, detail=f"output missing: {exc}") from exc
            if media_type(result) != _OUTPUT_TYPES[target]:
                raise ConversionError(CONVERT_FAILED, "bad_output", **resave,
                                      detail=f"output does not look like {target} ({result[:8]!r})")
            return result
        finally:
            shutil.rmtree(job_dir, ignore_errors=True)

    def _run(self, payload: dict[str, str], timeout: float, resave: dict[str, str], ext: str, target: str) -> None:
        """Have the pool convert one file; say every failure in the words the person who sent it needs
        (``resave``: how to re-save the file, the catalogue's ``{apps}`` and ``{save_as}``)."""
        try:
            reply = self.pool.run(payload, timeout)
        except WorkerTimeout:
            raise ConversionError(CONVERT_TIMEOUT, seconds=timeout, **resave,
                                  detail=f"no answer within {timeout} s") from None
        except WorkerGone as exc:
            raise ConversionError(CONVERT_FAILED, "crashed", **resave, detail=str(exc)) from None
        if reply.get("ok"):
            return
        error = str(reply.get("error", "unknown error"))
        if str(reply.get("code") or CONVERT_FAILED) == CONVERT_UNSUPPORTED:
            raise ConversionError(CONVERT_UNSUPPORTED, ext=ext, target=target, **resave, detail=error)
        raise ConversionError(CONVERT_FAILED, **resave, detail=error)

    def start(self) -> None:
        """Start all idle workers now (optional warm-up; otherwise they start on first use)."""
        self.pool.start()

    def workers(self) -> list[WorkerInfo]:
        """Snapshot of the pool (pids, liveness, conversions since last restart)."""
        return self.pool.workers()

    @property
    def worker_starts(self) -> int:
        """How many worker processes have been started so far (1 per slot + restarts)."""
        return self.pool.worker_starts

    def shutdown(self) -> None:
        """Stop all workers and soffice processes and remove the private temp dir; idempotent."""
        self.pool.shutdown()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.shutdown()


# The process-wide converter of get_converter(), created on first use; the lock makes two threads that ask
# at once share one pool.
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
            or _singleton.pool.owner_pid != os.getpid()
            or _singleton.pool.closed
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
