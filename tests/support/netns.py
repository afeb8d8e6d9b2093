"""Hosts for the tests that need more than one machine: Linux network namespaces made by the test, joined by veth
pairs, each process given its own host name (``unshare --uts``).

A host is a namespace held by a process of its own (``unshare --net``); programs enter it with ``nsenter``. No
``ip netns`` names, so nothing is mounted (``ip netns add`` needs a mount namespace it can make rslave, which a
chroot such as CI's fresh Debian does not allow). Nothing touches the network of the machine running the tests:
each veth pair is made inside one namespace with its peer given to the other by PID. Everything (processes, links,
namespaces) goes when the holders are killed at the end.
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
    for program, package in (("ip", "iproute2"), ("nsenter", "util-linux"), ("unshare", "util-linux")):
        if shutil.which(program) is None:
            pytest.fail(f"没有 {program} 命令：bash scripts/setup.sh test 会安装 {package}")


class Hosts:
    """Hosts by name; ``link(a, b, net)`` joins two with a /24 (a gets .1, b .2)."""

    def __init__(self) -> None:
        self.tag = secrets.token_hex(3)
        self.holders: dict[str, subprocess.Popen] = {}
        self.addresses: dict[tuple[str, str], str] = {}
        self.procs: list[subprocess.Popen] = []

    def add(self, name: str) -> None:
        holder = subprocess.Popen(["unshare", "--net", "sleep", "infinity"], start_new_session=True)
        self.holders[name] = holder
        deadline = time.monotonic() + 10
        while os.readlink(f"/proc/{holder.pid}/ns/net") == os.readlink("/proc/self/ns/net"):  # until unshared
            if holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"unshare --net failed for host {name}")
            time.sleep(0.02)
        self._ip(name, "link", "set", "lo", "up")

    def _ip(self, host: str, *args: str) -> None:
        subprocess.run([*self.prefix(host), "ip", *args], check=True, capture_output=True)

    def link(self, a: str, b: str, net: str) -> None:
        """A veth pair between hosts a and b on ``net`` (e.g. ``10.77.1``): a is net.1, b is net.2."""
        end_a, end_b = f"v{self.tag}{len(self.addresses)}a", f"v{self.tag}{len(self.addresses)}b"
        self._ip(a, "link", "add", end_a, "type", "veth", "peer", "name", end_b, "netns",
                 str(self.holders[b].pid))
        for host, end, ip in ((a, end_a, f"{net}.1"), (b, end_b, f"{net}.2")):
            self._ip(host, "addr", "add", f"{ip}/24", "dev", end)
            self._ip(host, "link", "set", end, "up")
        self.addresses[(a, b)], self.addresses[(b, a)] = f"{net}.1", f"{net}.2"

    def address(self, of: str, seen_from: str) -> str:
        """Host ``of``'s address on the link to ``seen_from``."""
        return self.addresses[(of, seen_from)]

    def prefix(self, host: str, hostname: str | None = None) -> list[str]:
        """The command prefix that runs a program on ``host`` (with its own host name, when given)."""
        base = ["nsenter", f"--net=/proc/{self.holders[host].pid}/ns/net"]
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
        spaces = set()
        for holder in self.holders.values():
            try:
                spaces.add(os.readlink(f"/proc/{holder.pid}/ns/net"))
            except OSError:
                pass
        for entry in Path("/proc").iterdir():  # anything else still in a host's network: a daemon that forked off
            if entry.name.isdigit() and int(entry.name) not in {h.pid for h in self.holders.values()}:
                try:
                    if os.readlink(entry / "ns" / "net") in spaces:
                        os.kill(int(entry.name), signal.SIGKILL)
                except (OSError, ProcessLookupError):
                    pass
        for holder in self.holders.values():
            holder.kill()
            holder.wait(10)
