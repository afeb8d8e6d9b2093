"""A real Redis server (Debian's redis-server) on a free port, for the Celery tests: nothing persisted, gone
with its temporary folder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def redis_binary() -> str:
    found = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(found).exists():
        pytest.fail("没有 redis-server：bash scripts/setup.sh test 会安装 Debian 的 redis-server")
    return found


def redis_command(folder: Path, port: int, bind: str = "127.0.0.1") -> list[str]:
    """redis-server with no persistence and no protected mode (it listens only where the test says)."""
    return [redis_binary(), "--port", str(port), "--bind", bind, "--save", "", "--appendonly", "no",
            "--protected-mode", "no", "--dir", str(folder), "--daemonize", "no", "--loglevel", "warning"]


def wait_for_port(host: str, port: int, timeout: float = 20, prefix: Sequence[str] = ()) -> None:
    """Wait until something accepts connections on host:port (through ``prefix``, e.g. ``ip netns exec NS``,
    when the port is in another network namespace)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if prefix:
            probe = subprocess.run([*prefix, "bash", "-c", f"exec 3<>/dev/tcp/{host}/{port}"], capture_output=True)
            if probe.returncode == 0:
                return
        else:
            try:
                with socket.create_connection((host, port), timeout=1):
                    return
            except OSError:
                pass
        time.sleep(0.2)
    raise TimeoutError(f"{host}:{port} did not answer in {timeout:g} s")


class LoopbackRedis:
    """``with LoopbackRedis(tmp) as redis: redis.url``; stop() kills it (a broker that went away)."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> LoopbackRedis:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(redis_command(self.folder, self.port), stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port)
        return self

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)

    def __enter__(self) -> LoopbackRedis:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
