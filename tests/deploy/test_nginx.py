"""deploy/nginx/jth.conf, run with Debian's nginx (a child process, everything in a temporary folder) in front of
the service as deployed: gunicorn on loopback with JTH_PROXY_HOPS=1 and JTH_HTTPS=true.

The configuration is the repository's file with the placeholders filled in (ports, a self-signed certificate, the
checkout's path); the requests are what a browser and an API client send."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from service.store import Store
from service.store.models import AuditEntry
from tests.support.samples import FONTS_CONF, ROOT, new_store

SITE = ROOT / "deploy" / "nginx" / "jth.conf"
PASSWORD = "辽宁-报送-2020-nginx"
CLIENT = "127.0.0.2"  # the browser's address: loopback, but not the one nginx talks to gunicorn from
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _nginx() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None)
    if found is None:
        pytest.fail("没有 nginx：bash scripts/setup.sh test 会安装 Debian 的 nginx")
    return found


def _certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _site(folder: Path, http_port: int, https_port: int, app_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx/jth.conf with its placeholders filled in; each must be there, so the file cannot drift."""
    text = SITE.read_text(encoding="utf-8")
    for old, new in (("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
                     ("jth.example.edu.cn", "localhost"), ("/etc/ssl/jth/fullchain.pem", str(cert)),
                     ("/etc/ssl/jth/privkey.pem", str(key)), ("/opt/jth/", f"{ROOT}/"),
                     ("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")):
        assert old in text, f"{SITE.name} no longer has {old!r}"
        text = text.replace(old, new)
    return "\n".join(line for line in text.splitlines() if "listen [::]" not in line)  # no IPv6 on every host


def _main_conf(folder: Path, site: str) -> Path:
    (folder / "site.conf").write_text(site, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers as root may read the checkout and the temp folder
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                            "scgi"))
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections 64; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder / 'access.log'};
{temp}
    include {folder / 'site.conf'};
}}
""", encoding="utf-8")
    return conf


def _wait_for(port: int, proc: subprocess.Popen, what: str) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited: {proc.communicate()[1]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"{what} did not start: {proc.communicate()[1]}")


class Nginx:
    """Debian's nginx running the site's configuration in ``folder``, as a child process."""

    def __init__(self, folder: Path, app_port: int) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.http, self.https = _free_port(), _free_port()
        self.cert, key = _certificate(folder)
        self.conf = _main_conf(folder, _site(folder, self.http, self.https, app_port, self.cert, key))
        command = [_nginx(), "-p", str(folder), "-c", str(self.conf), "-e", str(folder / "error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr  # `nginx -t`, as docs/deployment.md has it run
        assert "[warn]" not in checked.stderr and "[emerg]" not in checked.stderr, checked.stderr
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        _wait_for(self.https, self.proc, "nginx")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
                tls: bool = True) -> tuple[int, dict[str, str], bytes]:
        """One request from the browser's address; answers are not followed."""
        if tls:
            context = ssl.create_default_context(cafile=str(self.cert))
            conn = http.client.HTTPSConnection("127.0.0.1", self.https, context=context, timeout=60,
                                               source_address=(CLIENT, 0))
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.http, timeout=60, source_address=(CLIENT, 0))
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()


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
    app_port = _free_port()
    app = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{app_port}",
                            "--workers", "1", "--threads", "4", "wsgi:app"],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    nginx = None
    try:
        _wait_for(app_port, app, "gunicorn")
        nginx = Nginx(tmp_path_factory.mktemp("nginx"), app_port)
        yield nginx, store, token
    finally:
        if nginx is not None:
            nginx.stop()
        app.terminate()
        app.wait(timeout=30)
        store.dispose()


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    for key, (name, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


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
    body, kind = _multipart({}, {"file": ("扫描件.docx", big)})

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
    body, kind = _multipart({}, {"file": ("推荐书.docx", os.urandom(5 * MB))})
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
    nginx = Nginx(tmp_path / "nginx", _free_port())  # nothing listens where gunicorn would
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
