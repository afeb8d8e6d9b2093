"""The deployment's own files start the service on loopback: jth-web.service's ExecStartPre and ExecStart, with the
unit's Environment, behind deploy/nginx/jth.conf, and jth-worker.service's ExecStart as a Celery worker on Debian's
redis-server. A bulk ingest sent over HTTPS through nginx runs on the worker; SIGTERM (what ``systemctl stop``
sends) stops both cleanly.

Only what systemd itself adds is left out (the jth user, the sandboxing, /etc/jth/jth.env as a file): the command
lines and the environment are the units' own, with this checkout in place of /opt/jth.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import signal
import subprocess
import time
import zipfile
from pathlib import Path

from service.render.form import render
from tests.support.nginx import Nginx, free_port, multipart, wait_for
from tests.support.records import letter
from tests.support.redis import LoopbackRedis
from tests.support.samples import ROOT, new_store

UNITS = ROOT / "deploy" / "systemd"
PASSWORD = "部署-单元-测试-2020"


def _unit(name: str, instance: Path, cache: Path) -> dict[str, list[str]]:
    """A unit's settings (continued lines joined), with this checkout and the test's folders put in."""
    text = (UNITS / name).read_text(encoding="utf-8").replace("\\\n", " ")
    text = text.replace("/opt/jth", str(ROOT)).replace("/var/lib/jth", str(instance)).replace("/var/cache/jth",
                                                                                               str(cache))
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        if "=" in line and not line.lstrip().startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def _environment(unit: dict[str, list[str]], settings: dict[str, str]) -> dict[str, str]:
    """The unit's Environment= lines (systemd's quoting) over a clean environment, then the settings file's."""
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TMPDIR")}
    for line in unit.get("Environment", []):
        for word in shlex.split(line):
            key, value = word.split("=", 1)
            env[key] = value
    env.update(settings)
    return env


def test_the_units_start_the_service_behind_nginx_with_a_celery_worker(tmp_path):
    instance, cache = tmp_path / "var-lib-jth", tmp_path / "var-cache-jth"
    instance.mkdir()
    cache.mkdir()
    store = new_store(instance)
    web_unit, worker_unit = _unit("jth-web.service", instance, cache), _unit("jth-worker.service", instance, cache)
    procs: list[subprocess.Popen] = []
    nginx = None
    with LoopbackRedis(tmp_path / "redis") as redis:
        settings = {"DATABASE_URL": store.url, "JTH_FILE_STORE": str(store.files.root),
                    "JTH_CELERY_BROKER": redis.url, "JTH_SECRET_KEY": "units-start-test-secret-0123456789"}
        web_env, worker_env = _environment(web_unit, settings), _environment(worker_unit, settings)
        try:
            for command in web_unit["ExecStartPre"]:
                done = subprocess.run(shlex.split(command), cwd=web_unit["WorkingDirectory"][0], env=web_env,
                                      capture_output=True, text=True, timeout=300)
                assert done.returncode == 0, done.stderr
            flask = shlex.split(web_unit["ExecStartPre"][0])[:3]  # .venv/bin/flask --app wsgi
            subprocess.run([*flask, "users", "create", "staff", "--role", "admin", "--password-stdin"],
                           input=PASSWORD + "\n", text=True, cwd=ROOT, env=web_env, check=True, capture_output=True)
            token = subprocess.run([*flask, "tokens", "create", "staff"], text=True, cwd=ROOT, env=web_env,
                                   check=True, capture_output=True).stdout.strip().splitlines()[-1]
            app_port = free_port()
            web_command = shlex.split(web_unit["ExecStart"][0])
            web_command[web_command.index("--bind") + 1] = f"127.0.0.1:{app_port}"
            web = subprocess.Popen(web_command, cwd=web_unit["WorkingDirectory"][0], env=web_env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            procs.append(web)
            worker = subprocess.Popen(shlex.split(worker_unit["ExecStart"][0]),
                                      cwd=worker_unit["WorkingDirectory"][0], env=worker_env,
                                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            procs.append(worker)
            wait_for(app_port, web, "gunicorn")
            nginx = Nginx(tmp_path / "nginx", app_port)

            bundle = io.BytesIO()
            with zipfile.ZipFile(bundle, "w") as zf:
                for i in range(3):
                    record = dict(letter(), group_name=f"辽宁第{i + 1}号示范职业教育集团")
                    zf.writestr(f"推荐书{i + 1}.docx", render("jth-2020", "recommendation_letter", record).content)
            body, ctype = multipart({"recommender": "edu-ln"}, {"file": ("推荐书.zip", bundle.getvalue())})
            status, _headers, answer = nginx.request("POST", "/api/v1/campaigns/jth-2020/ingest", body,
                                                     {"Authorization": f"Bearer {token}", "Content-Type": ctype})
            assert status == 202, answer
            poll = json.loads(answer)["poll_url"]
            deadline, job = time.monotonic() + 120, {}
            while time.monotonic() < deadline and job.get("state") not in ("done", "failed"):
                time.sleep(0.3)
                status, _headers, answer = nginx.request("GET", poll, headers={"Authorization": f"Bearer {token}"})
                assert status == 200, answer
                job = json.loads(answer)
            assert job.get("state") == "done", job
            assert job["total"] == 3
        finally:
            if nginx is not None:
                nginx.stop()
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)  # what systemctl stop sends
            outputs = [proc.communicate(timeout=60)[0] or "" for proc in procs]
            store.dispose()
    assert [proc.returncode for proc in procs] == [0, 0], outputs
    assert "后台任务进程已启动（Celery）" in outputs[1] and "后台任务进程已停止" in outputs[1]
