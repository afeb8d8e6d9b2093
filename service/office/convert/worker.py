"""LibreOffice conversion worker, driven over stdin/stdout by ``service.office.convert.pool``.

Run as ``/usr/bin/python3 worker.py [--soffice BIN] [--state-dir DIR]
[--connect-timeout S]`` (Debian's interpreter: ``import uno`` only works there,
not in the service's venv).  This file must therefore import nothing but the
standard library and ``uno``.  Each run starts its own soffice with a fresh
profile and a unique pipe name.

Why a separate process at all: starting ``soffice --convert-to`` per file costs
1.5-2.3 s on our hardware, a long-lived LibreOffice driven over UNO converts a
.doc in ~0.13 s.  But a long-lived LibreOffice grows, sometimes hangs and
sometimes dies, so the service keeps it at arm's length: the venv process only
talks JSON lines to this worker and can kill its whole process tree at any time.

Protocol (one JSON object per line):

* worker -> parent, during start-up::

      {"event": "spawned", "soffice_pid": 123}   # soffice started (own process group)
      {"event": "ready", "sockets": [...]}       # UNO connected; soffice's /tmp pipes
      {"event": "failed", "error": "..."}        # start-up failed, worker exits

* parent -> worker, one request per line::

      {"src": "/path/in.doc", "dst": "/path/out.docx", "filter": "MS Word 2007 XML"}
      {"src": "/path/in.doc", "dst": "/path/out.pdf", "target": "pdf"}

  ``filter`` is an explicit LibreOffice export filter; without it the worker
  picks one from ``target`` (docx/xlsx/pdf) and the loaded document's type.

* worker -> parent, exactly one line per request::

      {"ok": true, "import_filter": "MS Word 97", "export_filter": "MS Word 2007 XML"}
      {"ok": false, "error": "...", "code": "CONVERT_FAILED", "fatal": false}

  ``fatal`` means the worker's soffice is gone and the worker is exiting; the
  parent must start a new worker.  ``stale`` (with ``fatal``) means soffice was
  already dead *before* this request touched the document, so retrying the same
  file on a fresh worker is safe.

The worker exits (killing its soffice) on stdin EOF, on SIGTERM/SIGINT/SIGHUP,
when its parent dies, and when its soffice dies.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

# Error codes shared with service.office.convert.protocol, spelled out again because this script cannot import
# it: it runs under Debian's /usr/bin/python3 -I (the only interpreter with uno), which puts neither the venv
# nor this script's folder on sys.path.
CODE_FAILED = "CONVERT_FAILED"
CODE_UNSUPPORTED = "CONVERT_UNSUPPORTED"

TEXT_DOCUMENT = "com.sun.star.text.TextDocument"
SPREADSHEET_DOCUMENT = "com.sun.star.sheet.SpreadsheetDocument"

# (target, document kind) -> export filter.
EXPORT_FILTERS: dict[tuple[str, str], str] = {
    ("docx", "text"): "MS Word 2007 XML",
    ("pdf", "text"): "writer_pdf_Export",
    ("xlsx", "spreadsheet"): "Calc MS Excel 2007 XML",
    ("pdf", "spreadsheet"): "calc_pdf_Export",
}

# LibreOffice happily opens *any* byte soup with its plain-text import filters
# ("Text", "Text (encoded)", "Text - txt - csv (StarCalc)"), which would turn a
# corrupt upload into a "successful" conversion full of mojibake.  None of the
# formats we accept is plain text, so such a load is treated as a failure.
PLAIN_TEXT_FILTER_PREFIX = "Text"

# Load properties.  Hidden=True is mandatory: LibreOffice 7.4 aborts when a Calc
# document is loaded over UNO without it.  Macros must never run on uploads
# (MacroExecutionMode 0 = NEVER_EXECUTE) and links must not be refreshed
# (UpdateDocMode 0 = NO_UPDATE), which would otherwise fetch external content.
LOAD_PROPERTIES: tuple[tuple[str, Any], ...] = (
    ("Hidden", True),
    ("ReadOnly", True),
    ("MacroExecutionMode", 0),
    ("UpdateDocMode", 0),
)


# The fresh profile's settings, written before soffice first starts. A document may link images or other
# content by URL (an .odt draw:image, a .doc INCLUDEPICTURE, a .docx external relationship); LibreOffice would
# fetch them while loading, from the server's network (SSRF). Links from untrusted documents are blocked, and
# every protocol goes through a proxy that does not exist, so nothing reaches the network even if one slips by.
DEAD_PROXY = ("127.0.0.1", 9)  # the discard port: connections are refused at once
PROFILE_SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema"
 xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="BlockUntrustedRefererLinks" \
oor:op="fuse"><value>true</value></prop></item>
<item oor:path="/org.openoffice.Office.Common/Security/Scripting"><prop oor:name="MacroSecurityLevel" \
oor:op="fuse"><value>3</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetProxyType" oor:op="fuse"><value>1</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInetNoProxy" oor:op="fuse"><value></value></prop></item>
""" + "".join(
    f"""<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInet{kind}ProxyName" oor:op="fuse">\
<value>{DEAD_PROXY[0]}</value></prop></item>
<item oor:path="/org.openoffice.Inet/Settings"><prop oor:name="ooInet{kind}ProxyPort" oor:op="fuse">\
<value>{DEAD_PROXY[1]}</value></prop></item>
""" for kind in ("HTTP", "HTTPS", "FTP")) + "</oor:items>\n"
PROXY_ENV = dict.fromkeys(("http_proxy", "https_proxy", "ftp_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "ALL_PROXY"), f"http://{DEAD_PROXY[0]}:{DEAD_PROXY[1]}")


# Heap a converting soffice may use. A normal conversion needs ~140 MB (VmData); a document with six 12-megapixel
# photos converted to PDF peaked at 168 MB.
DEFAULT_MEMORY_MB = 512
EXHAUSTED_SHARE = 0.5  # a failed document that left soffice above half its heap limit retires the worker


class RequestError(Exception):
    """A request failed; ``code`` travels back to the parent unchanged."""

    def __init__(self, code: str, error: str) -> None:
        super().__init__(error)
        self.code = code
        self.error = error


class Worker:
    """Owns one soffice process and the UNO connection to it."""

    def __init__(
        self, soffice: str, state_dir: str | None, connect_timeout: float, memory_mb: int = 0
    ) -> None:
        self.memory_mb = memory_mb
        self.soffice_bin = soffice
        self.connect_timeout = connect_timeout
        # state_dir holds the fresh user profile and soffice's TMPDIR.  soffice
        # keeps per-process temp dirs (lu<pid>*.tmp) there that a killed soffice
        # never removes; inside state_dir they go away with it.  The parent
        # passes a dir it owns, so it can clean up even after SIGKILLing us.
        self.own_state_dir = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="lo-worker-")
        self.profile_dir = os.path.join(self.state_dir, "profile")
        self.tmp_dir = os.path.join(self.state_dir, "tmp")
        os.makedirs(self.tmp_dir, mode=0o700, exist_ok=True)
        self.pipe_name = f"docconv_{os.getpid()}_{uuid.uuid4().hex}"
        self.soffice: subprocess.Popen[bytes] | None = None
        self.desktop: Any = None
        self._cleanup_lock = threading.Lock()
        self._cleaned = False
        self.stopping = False
        # Named pipes soffice creates in /tmp (OSL_PIPE_<uid>_<name>, one for
        # --accept and one SingleOfficeIPC per profile).  A killed soffice
        # leaves them behind, and every restart uses a fresh profile and pipe
        # name, so they would pile up in /tmp.
        self.sockets: list[str] = []

    # -- soffice lifecycle -------------------------------------------------

    def start_soffice(self) -> int:
        """Start soffice in its own process group so it can be killed as a whole.

        ``soffice`` is a shell script that execs oosplash, which forks
        soffice.bin; only a process-group kill reliably reaches soffice.bin.
        Its stdout goes to our stderr so it can never corrupt the protocol.
        """
        import uno

        user_dir = os.path.join(self.profile_dir, "user")
        os.makedirs(user_dir, mode=0o700, exist_ok=True)
        with open(os.path.join(user_dir, "registrymodifications.xcu"), "w", encoding="utf-8") as fh:
            fh.write(PROFILE_SETTINGS)
        profile_url = uno.systemPathToFileUrl(os.path.abspath(self.profile_dir))
        cmd = [
            self.soffice_bin,
            "--headless",
            "--invisible",
            "--nologo",
            "--norestore",
            "--nodefault",
            "--nolockcheck",
            f"-env:UserInstallation={profile_url}",
            f"--accept=pipe,name={self.pipe_name};urp;",
        ]
        self.soffice = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno(),
            stderr=sys.stderr.fileno(),
            start_new_session=True,
            env={**os.environ, "TMPDIR": self.tmp_dir, **PROXY_ENV, "no_proxy": "", "NO_PROXY": ""},
        )
        return self.soffice.pid

    def connect(self) -> None:
        """Connect over UNO, retrying while soffice starts (bounded by connect_timeout)."""
        import uno
        from com.sun.star.connection import NoConnectException

        local = uno.getComponentContext()
        resolver = local.ServiceManager.createInstanceWithContext(
            "com.sun.star.bridge.UnoUrlResolver", local
        )
        url = f"uno:pipe,name={self.pipe_name};urp;StarOffice.ComponentContext"
        deadline = time.monotonic() + self.connect_timeout
        delay = 0.05
        while True:
            if not self.soffice_alive():
                raise RuntimeError(
                    f"soffice exited during start-up (exit code {self.soffice.returncode if self.soffice else None})"
                )
            try:
                ctx = resolver.resolve(url)
                break
            except NoConnectException:
                if time.monotonic() >= deadline:
                    raise RuntimeError(
                        f"no UNO connection to soffice within {self.connect_timeout:.0f} s"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 1.5, 0.5)
        self.desktop = ctx.ServiceManager.createInstanceWithContext(
            "com.sun.star.frame.Desktop", ctx
        )
        self.sockets = sorted(
            set(unix_sockets_of_group(self.soffice.pid))
            | {f"/tmp/OSL_PIPE_{os.getuid()}_{self.pipe_name}"}
        )

    def soffice_alive(self) -> bool:
        return self.soffice is not None and self.soffice.poll() is None

    def exhausted(self) -> bool:
        """After a failed document: did it run soffice up to its heap limit? Such a soffice breaks on the next file
        (a bridge disposed mid-call), so the worker is replaced rather than reused."""
        if not self.memory_mb or self.soffice is None:
            return False
        return group_heap_mb(self.soffice.pid) > EXHAUSTED_SHARE * self.memory_mb

    def bridge_alive(self) -> bool:
        """A cheap remote call: tells a healthy soffice from a dead/disposed bridge."""
        if not self.soffice_alive():
            return False
        try:
            self.desktop.getFrames().getCount()
        except Exception:  # noqa: BLE001 - any failure of the probe means "bridge unusable"
            return False
        return True

    def cleanup(self) -> None:
        """Kill soffice's process group and drop our own state dir; safe from any thread."""
        self.stopping = True
        with self._cleanup_lock:
            if self._cleaned:
                return
            self._cleaned = True
            proc = self.soffice
            if proc is not None:
                # SIGKILL straight away: the profile is throw-away, no document is
                # kept open between requests, and a hung soffice ignores SIGTERM.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            remove_sockets(self.sockets)
            if self.own_state_dir:
                shutil.rmtree(self.state_dir, ignore_errors=True)

    # -- conversion ----------------------------------------------------------

    def convert(self, request: dict[str, Any]) -> dict[str, Any]:
        import uno
        from com.sun.star.beans import PropertyValue

        def props(pairs: tuple[tuple[str, Any], ...]) -> tuple[Any, ...]:
            values = []
            for name, value in pairs:
                prop = PropertyValue()
                prop.Name = name
                prop.Value = value
                values.append(prop)
            return tuple(values)

        src = str(request["src"])
        dst = str(request["dst"])
        export_filter = request.get("filter")
        target = request.get("target")
        allow_plain_text = bool(request.get("allow_plain_text", False))
        if not export_filter and target not in {"docx", "xlsx", "pdf"}:
            raise RequestError(CODE_UNSUPPORTED, f"unsupported target {target!r}")
        if not os.path.isfile(src):
            raise RequestError(CODE_FAILED, f"source file not found: {src}")

        doc = self.desktop.loadComponentFromURL(
            uno.systemPathToFileUrl(os.path.abspath(src)),
            "_blank",
            0,
            props(LOAD_PROPERTIES),
        )
        if doc is None:
            raise RequestError(
                CODE_FAILED,
                "LibreOffice could not load the file (no document returned)",
            )
        try:
            import_filter = ""
            for arg in doc.getArgs():
                if arg.Name == "FilterName":
                    import_filter = str(arg.Value)
            if (
                import_filter.startswith(PLAIN_TEXT_FILTER_PREFIX)
                and not allow_plain_text
            ):
                raise RequestError(
                    CODE_FAILED,
                    f"content not recognised as an office document (opened with plain-text filter {import_filter!r})",
                )
            if doc.supportsService(TEXT_DOCUMENT):
                kind = "text"
            elif doc.supportsService(SPREADSHEET_DOCUMENT):
                kind = "spreadsheet"
            else:
                kind = "other"
            if not export_filter:
                export_filter = EXPORT_FILTERS.get((str(target), kind))
                if export_filter is None:
                    raise RequestError(
                        CODE_UNSUPPORTED,
                        f"cannot convert a {kind} document (import filter {import_filter!r}) to {target}",
                    )
            doc.storeToURL(
                uno.systemPathToFileUrl(os.path.abspath(dst)),
                props((("FilterName", export_filter), ("Overwrite", True))),
            )
        finally:
            close_document(doc)
        return {
            "ok": True,
            "import_filter": import_filter,
            "export_filter": export_filter,
            "kind": kind,
        }


def group_pids(pgid: int) -> list[int]:
    """The processes of one group (soffice is a shell script, oosplash and soffice.bin)."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # fields after "comm": state ppid pgrp ...
                pids.append(int(entry))
        except (OSError, IndexError, ValueError):
            continue
    return pids


def group_heap_mb(pgid: int) -> float:
    """Heap (VmData) of a process group, in MB."""
    total = 0
    for pid in group_pids(pgid):
        try:
            with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
                for line in fh:
                    if line.startswith("VmData:"):
                        total += int(line.split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024


def unix_sockets_of_group(pgid: int) -> list[str]:
    """Paths of the /tmp/OSL_PIPE_* unix sockets held by the processes of one group."""
    inodes: set[str] = set()
    for pid in group_pids(pgid):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
                if link.startswith("socket:["):
                    inodes.add(link[8:-1])
        except OSError:
            continue
    paths = []
    try:
        with open("/proc/net/unix", encoding="utf-8", errors="replace") as fh:
            next(fh, None)
            for line in fh:
                parts = line.split()
                if (
                    len(parts) >= 8
                    and parts[6] in inodes
                    and parts[7].startswith("/tmp/OSL_PIPE_")
                ):
                    paths.append(parts[7])
    except OSError:
        pass
    return paths


def remove_sockets(paths: list[str]) -> None:
    """Unlink soffice's leftover pipe sockets (only sockets, only OSL_PIPE_*).

    The service has the same few lines (``process._remove_sockets``) for a worker it had to kill; this script
    cannot import them (see the error codes above).
    """
    for path in paths:
        if not os.path.basename(path).startswith("OSL_PIPE_"):
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)


def close_document(doc: Any) -> None:
    """Close the document whatever happened; an open document leaks memory in soffice."""
    try:
        doc.close(True)
    except Exception:  # noqa: BLE001 - CloseVetoException, DisposedException, ...
        with contextlib.suppress(Exception):
            doc.dispose()


def uno_error_text(exc: BaseException) -> str:
    """UNO exceptions carry their text in ``Message``; fall back to str()."""
    message = getattr(exc, "Message", None) or str(exc) or ""
    return f"{type(exc).__name__}: {message}".strip().rstrip(":")


class Channel:
    """The protocol side of stdout.

    The original stdout fd is kept private and fd 1 is pointed at stderr, so a
    stray print from a native library can never break the JSON-lines protocol.
    """

    def __init__(self) -> None:
        self._fd = os.dup(1)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        self._lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        data = (json.dumps(message, ensure_ascii=True) + "\n").encode("ascii")
        with self._lock:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]


def start_watchdog(worker: Worker, parent_pid: int) -> None:
    """Exit (killing soffice) on a signal, on parent death or on soffice death.

    This runs in its own thread because the main thread may be stuck inside a
    UNO call to a hung soffice: Python-level signal handlers only run in the
    main thread between bytecodes, but the C-level handler always writes to the
    wakeup fd, which this thread watches.  pyuno releases the GIL during remote
    calls, so this thread keeps running while the main thread is blocked.
    """
    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    signal.set_wakeup_fd(wfd, warn_on_full_buffer=False)
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, lambda _signum, _frame: None)

    def run() -> None:
        while True:
            ready, _, _ = select.select([rfd], [], [], 0.5)
            if ready:
                data = os.read(rfd, 64)
                print(
                    f"convert_worker: signal {list(data)}, exiting",
                    file=sys.stderr,
                    flush=True,
                )
                worker.cleanup()
                os._exit(0)
            if os.getppid() != parent_pid:
                print(
                    "convert_worker: parent died, exiting", file=sys.stderr, flush=True
                )
                worker.cleanup()
                os._exit(1)
            if (
                worker.soffice is not None
                and not worker.soffice_alive()
                and not worker.stopping
            ):
                print(
                    f"convert_worker: soffice exited ({worker.soffice.returncode}), exiting",
                    file=sys.stderr,
                    flush=True,
                )
                worker.cleanup()
                os._exit(3)

    threading.Thread(target=run, name="watchdog", daemon=True).start()


def serve(worker: Worker, channel: Channel) -> None:
    """Answer JSON-lines requests until stdin EOF."""
    for raw in sys.stdin.buffer:
        if not raw.strip():
            continue
        try:
            request = json.loads(raw)
            if (
                not isinstance(request, dict)
                or "src" not in request
                or "dst" not in request
            ):
                raise ValueError("request must be an object with 'src' and 'dst'")
        except ValueError as exc:
            channel.send(
                {
                    "ok": False,
                    "code": CODE_FAILED,
                    "error": f"bad request: {exc}",
                    "fatal": False,
                }
            )
            continue
        if not worker.bridge_alive():
            # Nothing has touched the document yet, so the parent may safely
            # retry it on a fresh worker.
            channel.send(
                {
                    "ok": False,
                    "code": CODE_FAILED,
                    "error": "soffice is not running",
                    "fatal": True,
                    "stale": True,
                }
            )
            return
        try:
            reply = worker.convert(request)
        except RequestError as exc:
            reply = {"ok": False, "code": exc.code, "error": exc.error, "fatal": worker.exhausted()}
        except Exception as exc:  # noqa: BLE001 - every request must get an answer
            reply = {
                "ok": False,
                "code": CODE_FAILED,
                "error": uno_error_text(exc),
                "fatal": not worker.bridge_alive() or worker.exhausted(),
            }
        channel.send(reply)
        if reply.get("fatal"):
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--soffice", default=os.environ.get("SOFFICE_BIN") or "soffice")
    parser.add_argument(
        "--state-dir",
        default=None,
        help="empty private dir for soffice's profile and TMPDIR, owned by the caller "
        "(default: a temp dir removed on exit)",
    )
    parser.add_argument("--connect-timeout", type=float, default=60.0)
    parser.add_argument(
        "--memory-mb",
        type=int,
        default=int(os.environ.get("JTH_CONVERTER_MEMORY_MB") or DEFAULT_MEMORY_MB),
        help="heap limit (RLIMIT_DATA) of this worker and its soffice; 0 for none",
    )
    args = parser.parse_args(argv)
    if args.memory_mb > 0:
        # Inherited by soffice: a document built to exhaust memory (an RTF of two million nested groups took
        # 4.6 GB) makes LibreOffice fail its allocation and die, which the parent reports and recovers from.
        limit = args.memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))

    channel = Channel()
    parent_pid = os.getppid()
    try:
        import uno  # noqa: F401  (fail early with a clear message)
    except ImportError as exc:
        channel.send(
            {
                "event": "failed",
                "error": f"cannot import uno (install python3-uno, run under /usr/bin/python3): {exc}",
            }
        )
        return 2
    try:
        worker = Worker(args.soffice, args.state_dir, args.connect_timeout, args.memory_mb)
    except Exception as exc:  # noqa: BLE001 - reported to the parent instead of a traceback
        channel.send({"event": "failed", "error": uno_error_text(exc)})
        return 2
    start_watchdog(worker, parent_pid)
    try:
        try:
            soffice_pid = worker.start_soffice()
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            channel.send(
                {
                    "event": "failed",
                    "error": f"cannot start {args.soffice}: {uno_error_text(exc)}",
                }
            )
            return 2
        channel.send({"event": "spawned", "soffice_pid": soffice_pid})
        try:
            worker.connect()
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            channel.send({"event": "failed", "error": uno_error_text(exc)})
            return 2
        channel.send({"event": "ready", "sockets": worker.sockets})
        serve(worker, channel)
        return 0
    finally:
        worker.cleanup()


if __name__ == "__main__":
    # os._exit: skip interpreter teardown, during which pyuno may touch the
    # already-killed bridge and hang or crash.
    code = main()
    sys.stderr.flush()
    os._exit(code)
