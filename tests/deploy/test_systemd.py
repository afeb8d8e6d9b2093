"""deploy/systemd: the units as systemd reads them (``systemd-analyze verify``: every key known, every program
there), hardened (``systemd-analyze security``), and agreeing with nginx's configuration and the app's settings."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.samples import ROOT

UNITS = ROOT / "deploy" / "systemd"
ANALYZE = shutil.which("systemd-analyze")
SERVICES = ("jth-web.service", "jth-worker.service", "jth-scheduler.service")

needs_systemd_analyze = pytest.mark.skipif(
    ANALYZE is None, reason="本机没有 systemd-analyze（Debian 的 systemd 软件包提供，scripts/setup.sh test 会安装），"
                            "无法让 systemd 检查 deploy/systemd 的单元文件")


def _installed(folder: Path) -> Path:
    """The units as installed, but with this checkout in place of /opt/jth (verify checks that programs exist)."""
    for unit in UNITS.iterdir():
        (folder / unit.name).write_text(unit.read_text(encoding="utf-8").replace("/opt/jth", str(ROOT)),
                                        encoding="utf-8")
    return folder


def _analyze(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([ANALYZE, *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@needs_systemd_analyze
def test_systemd_reads_every_unit_without_a_complaint(tmp_path):
    folder = _installed(tmp_path)
    done = _analyze("verify", "--man=no", *sorted(p.name for p in folder.iterdir()), cwd=folder)
    # Exit 0 alone is not enough: an unknown or misspelt key is only a warning ("Unknown key …, ignoring").
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stdout + done.stderr


@needs_systemd_analyze
def test_the_services_are_hardened(tmp_path):
    version = int(re.match(r"systemd (\d+)", _analyze("--version", cwd=tmp_path).stdout).group(1))
    if version < 250:
        pytest.skip(f"systemd {version} 的 systemd-analyze 没有 security --offline（250 起才有）")
    folder = _installed(tmp_path)
    done = _analyze("security", "--offline=yes", "--no-pager", *SERVICES, cwd=folder)
    levels = dict(re.findall(r"Overall exposure level for (\S+): ([\d.]+)", done.stdout))
    assert set(levels) == set(SERVICES), done.stdout + done.stderr
    # systemd's scale: 0 is fully confined, 10 is a service with no restriction; up to 2 it says "OK".
    assert all(float(level) <= 2.0 for level in levels.values()), levels


def _settings(unit: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    text = (UNITS / unit).read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_the_units_agree_with_nginx_and_with_each_other():
    web, worker, scheduler = (_settings(name) for name in SERVICES)
    environment = " ".join(web["Environment"])
    assert "JTH_PROXY_HOPS=1" in environment and "JTH_HTTPS=true" in environment  # behind nginx's HTTPS
    assert "JTH_JOBS_AUTOSTART=false" in environment  # the worker runs the jobs
    upstream = re.search(r"upstream jth_app \{\s*server ([\d.:]+);", (ROOT / "deploy/nginx/jth.conf").read_text())
    assert f"--bind {upstream.group(1)}" in web["ExecStart"][0]  # nginx proxies to where gunicorn listens
    assert worker["ExecStart"][0].split()[1:4] == ["--app", "wsgi", "worker"]
    assert [cmd.split()[3:] for cmd in scheduler["ExecStart"]] == [["notices", "remind"], ["mail", "fetch"]]
    timer = (UNITS / "jth-scheduler.timer").read_text(encoding="utf-8")
    assert "OnCalendar=*:0/5" in timer
    for unit in (web, worker, scheduler):
        assert unit["EnvironmentFile"] == ["/etc/jth/jth.env"]
        assert unit["User"] == ["jth"] and unit["ProtectSystem"] == ["strict"]
        assert unit["ReadWritePaths"] == ["/var/lib/jth"] and "JTH_INSTANCE_PATH=/var/lib/jth" in " ".join(
            unit["Environment"])  # the one folder it may write is the instance folder
        assert unit["NoNewPrivileges"] == ["true"] and unit["PrivateTmp"] == ["true"]
        assert unit["ProtectHome"] == ["true"]
