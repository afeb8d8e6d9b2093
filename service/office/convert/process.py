"""One ``worker.py`` process (and the soffice it starts), seen from the service: start it, talk to it, kill it.

The worker runs in its own session so a kill reaches its whole process tree, under Debian's interpreter
(``import uno`` works only there) with ``-I`` so the venv's environment cannot leak into it. Killing is
always safe: a fresh LibreOffice profile and soffice's /tmp pipes are removed with the process.
"""

from __future__ import annotations

import contextlib
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
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.office.convert.protocol import CONVERT_UNAVAILABLE, ConversionError, decode, encode

log = logging.getLogger(__name__)

#: The worker program (run as a script, never imported by the service).
WORKER_SCRIPT = Path(__file__).with_name("worker.py")
#: How long a graceful stop (stdin EOF) may take before the process groups are killed.
STOP_GRACE = 5.0


@dataclass(frozen=True)
class WorkerInfo:
    """Snapshot of one pool slot, for health pages and tests."""

    slot: int
    pid: int | None
    soffice_pid: int | None
    alive: bool
    conversions: int
    generation: int


class WorkerTimeout(Exception):
    """The worker did not answer before the deadline."""


class WorkerGone(Exception):
    """The worker exited, or said something that is no answer; the text says what happened."""


def _kill_group(pgid: int | None) -> None:
    if not pgid:
        return
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _remove_sockets(paths: list[str]) -> None:
    """Unlink the /tmp/OSL_PIPE_* sockets a killed soffice left behind.

    worker.py has the same few lines for the soffice it stops itself: it cannot import this module (see
    :mod:`service.office.convert.protocol`), and this side must clean up after a worker it had to kill.
    """
    for path in paths:
        if not os.path.basename(path).startswith("OSL_PIPE_"):
            continue
        with contextlib.suppress(OSError):
            if stat.S_ISSOCK(os.lstat(path).st_mode):
                os.unlink(path)


class WorkerProcess:
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
        # Whether the request before the current one failed on this LibreOffice (see Pool.run).
        self.failed_before = False
        self._last_failed = False
        # soffice's named pipes in /tmp; a SIGKILLed soffice leaves them behind.
        self.sockets: list[str] = []
        self._buffer = bytearray()
        self._selector: selectors.BaseSelector | None = None
        self._stderr_tail: deque[str] = deque(maxlen=40)

    # -- lifecycle -----------------------------------------------------------

    def alive(self) -> bool:
        """Whether the worker process is running."""
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
            raise ConversionError(CONVERT_UNAVAILABLE, "no_worker",
                                  detail=f"cannot run {self.uno_python}: {exc}") from exc
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
                    raise WorkerGone(str(message.get("error")))
        except (WorkerTimeout, WorkerGone) as exc:
            detail = str(exc) or "worker timed out during start-up"
            tail = self.stderr_tail()
            self.kill()
            raise ConversionError(CONVERT_UNAVAILABLE, "no_soffice",
                                  detail=f"{detail}; stderr: {tail}" if tail else detail) from exc
        log.info(
            "convert worker %d started (pid %s, soffice pid %s, generation %d)",
            self.slot,
            self.proc.pid,
            self.soffice_pid,
            self.generation,
        )

    def stop(self, grace: float = STOP_GRACE) -> None:
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
        """The last lines the worker and its soffice wrote to stderr, for error details."""
        return " | ".join(list(self._stderr_tail)[-lines:])

    def _read_message(self, deadline: float) -> dict[str, Any]:
        """Next JSON line from the worker, or WorkerTimeout/WorkerGone."""
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
                message = decode(line)
                if message is not None:
                    return message
                log.warning("convert worker %d: unparsable line %r", self.slot, line[:200])
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self._selector.select(remaining):
                raise WorkerTimeout()
            chunk = os.read(fd, 65536)
            if not chunk:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(timeout=5)
                raise WorkerGone(f"worker exited with code {self.proc.returncode}")
            self._buffer.extend(chunk)

    def request(self, payload: dict[str, Any], deadline: float) -> dict[str, Any]:
        """Send one request and wait for its one answer (WorkerTimeout past ``deadline``, WorkerGone)."""
        assert self.proc is not None and self.proc.stdin is not None
        self.conversions += 1
        self.failed_before, self._last_failed = self._last_failed, True  # until this one answers ok
        try:
            self.proc.stdin.write(encode(payload))
        except OSError as exc:  # BrokenPipeError: the worker is gone
            raise WorkerGone(f"cannot write to worker: {exc}") from exc
        message = self._read_message(deadline)
        if "ok" not in message:
            raise WorkerGone(f"unexpected worker message {message!r}")
        self._last_failed = not message["ok"]
        return message

    def info(self) -> WorkerInfo:
        """Snapshot for health pages and tests."""
        return WorkerInfo(
            slot=self.slot,
            pid=self.proc.pid if self.proc is not None else None,
            soffice_pid=self.soffice_pid,
            alive=self.alive(),
            conversions=self.conversions,
            generation=self.generation,
        )
