"""Hosts for the tests that need more than one machine: Linux network namespaces made by the test (``ip netns``),
joined by veth pairs, each process given its own host name (``unshare --uts``).

Nothing touches the network of the machine running the tests: the links are made directly inside the namespaces,
and everything (processes, links, namespaces) is removed at the end.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest


def require_netns() -> None:
    """Fail (not skip) where the test cannot make namespaces: the test command runs as root with iproute2."""
    if os.geteuid() != 0:
        pytest.fail("两台主机的测试需要 root 权限（创建网络命名空间）：以 root 运行 ./scripts/test.sh")
    if shutil.which("ip") is None:
        pytest.fail("没有 ip 命令：bash scripts/setup.sh test 会安装 iproute2")


class Hosts:
    """Namespaces named ``jth-<name>-<random>``; ``link(a, b, net)`` joins two with a /24 (a gets .1, b .2)."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(3)
        self.names: dict[str, str] = {}
        self.addresses: dict[tuple[str, str], str] = {}
        self.procs: list[subprocess.Popen] = []

    def add(self, name: str) -> None:
        ns = self.names[name] = f"jth-{name}-{self.tag}"
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)

    def link(self, a: str, b: str, net: str) -> None:
        """A veth pair between hosts a and b on ``net`` (e.g. ``10.77.1``): a is net.1, b is net.2."""
        end_a, end_b = f"v{self.tag}{len(self.addresses)}a", f"v{self.tag}{len(self.addresses)}b"
        subprocess.run(["ip", "link", "add", end_a, "netns", self.names[a], "type", "veth", "peer", "name", end_b,
                        "netns", self.names[b]], check=True)
        for host, end, ip in ((a, end_a, f"{net}.1"), (b, end_b, f"{net}.2")):
            subprocess.run(["ip", "-n", self.names[host], "addr", "add", f"{ip}/24", "dev", end], check=True)
            subprocess.run(["ip", "-n", self.names[host], "link", "set", end, "up"], check=True)
        self.addresses[(a, b)], self.addresses[(b, a)] = f"{net}.1", f"{net}.2"

    def address(self, of: str, seen_from: str) -> str:
        """Host ``of``'s address on the link to ``seen_from``."""
        return self.addresses[(of, seen_from)]

    def prefix(self, host: str, hostname: str | None = None) -> list[str]:
        """The command prefix that runs a program on ``host`` (with its own host name, when given)."""
        base = ["ip", "netns", "exec", self.names[host]]
        if hostname:
            base += ["unshare", "--uts", "sh", "-c", f'hostname {hostname} && exec "$@"', "sh"]
        return base

    def run(self, host: str, args: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run([*self.prefix(host), *args], capture_output=True, text=True, **kwargs)

    def start(self, host: str, args: Sequence[str], *, hostname: str | None = None, log: Path | None = None,
              **kwargs) -> subprocess.Popen:
        """A long-running process on ``host``, in a session of its own (so that killing the host kills all of it)."""
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen([*self.prefix(host, hostname), *args], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, **kwargs)
        self.procs.append(proc)
        return proc

    @staticmethod
    def kill(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Everything the process started goes with it, as when its machine loses power."""
        for signum in (sig, signal.SIGKILL):
            try:
                os.killpg(proc.pid, signum)
            except ProcessLookupError:
                return
            try:
                proc.wait(15)
                return
            except subprocess.TimeoutExpired:
                continue

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc, signal.SIGTERM)
        for ns in self.names.values():
            pids = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if pids:
                time.sleep(0.5)
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
