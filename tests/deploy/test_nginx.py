"""deploy/nginx/jth.conf, run with Debian's nginx (a child process, everything in a temporary folder) in front of
the service as deployed: gunicorn on loopback with JTH_PROXY_HOPS=1 and JTH_HTTPS=true.

The configuration is the repository's file with the placeholders filled in (ports, a self-signed certificate, the
checkout's path); the requests are what a browser and an API client send."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from sqlalchemy import select

from service.store import Store
from service.store.models import AuditEntry
from tests.support.nginx import CLIENT, Nginx, free_port, multipart, wait_for
from tests.support.samples import FONTS_CONF, ROOT, new_store

PASSWORD = "辽宁-报送-2020-nginx"
MB = 1024 * 1024


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    """gunicorn as jth-web.service runs it, a unit's account and its API token, and nginx in front."""
    instance = tmp_path_factory.mktemp("instance")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JTH_")}
    env.update(JTH_HTTPS="true", JTH_PROXY_HOPS="1", JTH_INSTANCE_PATH=str(instance), FONTCONFIG_FILE=str(FONTS_CONF))
    store = new_store(instance)  # PostgreSQL: a clean schema; SQLite: the instance's own database
    env["DATABASE_URL"] = store.url
    env["JTH_FILE_STORE"] = str(store.files.root)
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "users", "create", "provincial", "--role", "recommender", "--entity", "edu-ln",
                    "--password-stdin"], input=PASSWORD + "\n", text=True, cwd=ROOT, env=env, check=True,
                   capture_output=True)
    token = subprocess.run([*flask, "tokens", "create", "provincial"], text=True, cwd=ROOT, env=env, check=True,
                           capture_output=True).stdout.strip().splitlines()[-1]
    app_port = free_port()
    app = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{app_port}",
                            "--workers", "1", "--threads", "4", "wsgi:app"],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    nginx = None
    try:
        wait_for(app_port, app, "gunicorn")
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), app_port)
        yield nginx, store, token
    finally:
        if nginx is not None:
            nginx.stop()
        app.terminate()
        app.wait(timeout=30)
        store.dispose()


def test_https_answers_the_login_page_without_telling_nginx_version(deployed):
    nginx, _, _ = deployed
    status, headers, body = nginx.request("GET", "/login")
    assert status == 200
    assert "登录" in body.decode()
    assert headers["server"] == "nginx"  # server_tokens off: no version for a scanner to look up
    assert "max-age" in headers["strict-transport-security"]  # JTH_HTTPS=true reached the app


def test_plain_http_is_sent_to_https(deployed):
    nginx, _, _ = deployed
    status, headers, _ = nginx.request("GET", "/login?next=/r/", tls=False)
    assert status == 301
    assert headers["location"] == "https://localhost/login?next=/r/"
    assert headers["server"] == "nginx"


def test_the_app_sees_the_browsers_address_not_nginx(deployed):
    nginx, store, _ = deployed
    status, headers, body = nginx.request("GET", "/login")
    cookie = headers["set-cookie"].split(";")[0]
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', body.decode()).group(1)
    form = urllib.parse.urlencode({"csrf_token": csrf, "username": "provincial", "password": PASSWORD}).encode()
    status, headers, _ = nginx.request("POST", "/login", form, {
        "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie,
        "Referer": f"https://127.0.0.1:{nginx.https}/login",  # as a browser sends it: CSRF checks it over HTTPS
        "X-Forwarded-For": "203.0.113.9"})  # what a client claims is replaced by what nginx saw
    assert status == 302, headers
    seen = Store(store.url, store.files.root)
    try:
        with seen.session() as s:
            entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "login")
                              .order_by(AuditEntry.id.desc())).first()
    finally:
        seen.dispose()
    assert entry is not None and entry.actor == "provincial"
    assert entry.detail["address"] == CLIENT


def test_an_upload_over_the_limit_gets_the_apps_chinese_answer(deployed):
    nginx, _, token = deployed
    big = os.urandom(25 * MB)
    body, kind = multipart({}, {"file": ("扫描件.docx", big)})

    status, headers, page = nginx.request("POST", "/login", body, {"Content-Type": kind})
    assert status == 413
    assert headers["content-type"].startswith("text/html")
    text = page.decode()
    assert "文件过大" in text and "20 MB" in text and "nginx" not in text

    status, headers, answer = nginx.request("POST", "/api/v1/campaigns/jth-2020/submissions", body,
                                            {"Content-Type": kind, "Authorization": f"Bearer {token}"})
    assert status == 413
    error = json.loads(answer)["error"]
    assert error["code"] == "REQUEST_TOO_LARGE" and "20 MB" in error["message"]

    # Under the limit (nginx's own default would refuse anything over 1 MB): the app reads it.
    body, kind = multipart({}, {"file": ("推荐书.docx", os.urandom(5 * MB))})
    status, headers, answer = nginx.request("POST", "/api/v1/campaigns/jth-2020/submissions", body,
                                            {"Content-Type": kind, "Authorization": f"Bearer {token}"})
    assert status == 201, answer[:300]
    assert json.loads(answer)["status"] == "unreadable"  # random bytes: kept, and reported as unreadable


def test_static_files_come_from_nginx_with_caching(deployed):
    nginx, _, _ = deployed
    status, headers, body = nginx.request("GET", "/static/site.css")
    assert status == 200
    assert body == (ROOT / "service" / "web" / "static" / "site.css").read_bytes()
    assert headers["cache-control"] == "public, max-age=3600"  # nginx's header: the app sends none like it
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["server"] == "nginx"
    assert nginx.request("GET", "/static/../wsgi.py")[0] in (400, 404)


def test_while_the_app_is_down_people_read_why_in_chinese(tmp_path):
    nginx = Nginx(tmp_path / "nginx", free_port())  # nothing listens where gunicorn would
    try:
        status, headers, page = nginx.request("GET", "/login")
        assert status == 503 and headers["content-type"].startswith("text/html")
        assert "服务暂时不可用" in page.decode() and headers["retry-after"] == "30"
        status, headers, answer = nginx.request("POST", "/api/v1/campaigns/jth-2020/submissions", b"{}",
                                                {"Content-Type": "application/json"})
        assert status == 503 and headers["content-type"] == "application/json"
        assert json.loads(answer)["error"]["code"] == "SERVICE_UNAVAILABLE"
    finally:
        nginx.stop()
