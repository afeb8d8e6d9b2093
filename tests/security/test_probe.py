"""The outside probe, replayed: each attempt that once worked against the running service (gunicorn on loopback,
as deployed behind the HTTPS proxy with JTH_HTTPS=true) is made again here, over real HTTP, and must fail.

The table in docs/security.md names the test that covers each finding.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from service.render.form import render
from tests.support.samples import ROOT, new_store, sample

PASSWORD = "辽宁-报送-2020-probe"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class BehindTheProxy(http.cookiejar.DefaultCookiePolicy):
    """The service runs as deployed (JTH_HTTPS=true: Secure cookies); the probe talks plain HTTP to gunicorn as the
    HTTPS proxy does, so Secure cookies are sent back over it."""

    def return_ok_secure(self, cookie, request) -> bool:
        return True


class Browser:
    """A client with its own cookie jar that does not follow redirects (the probe reads Location itself)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar(BehindTheProxy())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, method: str, path: str, data: bytes | None = None, headers: dict | None = None):
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def form(self, path: str, **fields: str):
        body = urllib.parse.urlencode(fields).encode()
        return self.request("POST", path, body, {"Content-Type": "application/x-www-form-urlencoded"})

    def cookie(self, name: str) -> str | None:
        return next((c.value for c in self.jar if c.name == name), None)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """gunicorn serving a fresh instance folder as deployed behind the HTTPS proxy (JTH_HTTPS=true); CSRF is off
    in its config.py because the probe's clients are plain HTTP, not pages."""
    instance = tmp_path_factory.mktemp("instance")
    (instance / "config.py").write_text("WTF_CSRF_ENABLED = False\n", encoding="utf-8")
    env = dict(os.environ, JTH_HTTPS="true", JTH_INSTANCE_PATH=str(instance),
               FONTCONFIG_FILE=str(ROOT / "config" / "fonts.conf"))
    if "DATABASE_URL" in env:  # PostgreSQL: a clean schema, as every other test gets
        new_store(instance).dispose()
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    subprocess.run([*flask, "init-db"], cwd=ROOT, env=env, check=True, capture_output=True)
    for name, entity in (("provincial", "edu-ln"), ("beijing", "edu-bj")):
        subprocess.run([*flask, "users", "create", name, "--role", "recommender", "--entity", entity,
                        "--password-stdin"], input=(PASSWORD + "\n").encode(), cwd=ROOT, env=env, check=True,
                       capture_output=True)
    port = _free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--bind", f"127.0.0.1:{port}",
                             "--workers", "1", "--threads", "4", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError(proc.stderr.read().decode())
    yield base, instance
    proc.terminate()
    proc.wait(timeout=30)


def signed_in(base: str, user: str = "provincial") -> Browser:
    browser = Browser(base)
    status, headers, _ = browser.form("/login", username=user, password=PASSWORD)
    assert status == 302, status
    return browser


def _session_payload(cookie: str) -> dict:
    """The data in Flask's signed session cookie (readable by anyone who holds the cookie; only signed)."""
    import base64
    import zlib

    compressed = cookie.startswith(".")
    body = cookie.lstrip(".").split(".")[0]
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return json.loads(zlib.decompress(raw) if compressed else raw)


def test_1_login_redirects_only_to_this_site(service):
    base, _ = service
    for target in ("/%09/evil.example/", "/%5C%5Cevil.example", "//evil.example", "https:evil.example"):
        status, headers, _ = Browser(base).form(f"/login?next={target}", username="provincial", password=PASSWORD)
        location = headers["Location"]
        assert status == 302 and location in ("/r/", f"{base}/r/"), (target, location)


def test_2_logout_ends_the_session_for_a_copied_cookie_too(service):
    base, _ = service
    browser = signed_in(base)
    saved = browser.cookie("session")
    assert browser.request("GET", "/r/")[0] == 200
    browser.form("/logout")
    thief = Browser(base)
    thief.opener.addheaders = [("Cookie", f"session={saved}")]
    status, headers, _ = thief.request("GET", "/r/")
    assert status == 302 and "/login" in headers["Location"]


def test_6_anyone_s_wrong_passwords_do_not_shut_the_owner_out(service):
    base, _ = service
    owner = signed_in(base, "beijing")
    owner.form("/logout")
    attacker = Browser(base)
    for _ in range(6):
        attacker.form("/login", username="beijing", password="guess-guess-guess")
    status, _, body = attacker.form("/login", username="beijing", password=PASSWORD)
    assert status == 429 and "秒后再试" in body.decode()
    assert owner.form("/login", username="beijing", password=PASSWORD)[0] == 302


def test_8_a_file_name_with_line_breaks_or_direction_marks_is_kept_clean(service):
    base, _ = service
    browser = signed_in(base)
    content = render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content
    name = "推荐书\r\nX-Injected: 1\u202excod.docx"
    boundary = "----probe"
    quoted = urllib.parse.quote(name)
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"campaign\"\r\n\r\njth-2020\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"x.docx\"; "
            f"filename*=UTF-8''{quoted}\r\nContent-Type: application/octet-stream\r\n\r\n").encode() + content + (
        f"\r\n--{boundary}--\r\n").encode()
    status, _, answer = browser.request("POST", "/r/upload?format=json", body,
                                        {"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert status in (200, 201), answer[:500]
    result = json.loads(answer)["results"][0]
    assert result["name"] == "推荐书 X-Injected: 1xcod.docx"
    status, headers, data = browser.request("GET", f"/r/submissions/{result['submission_id']}/file")
    assert status == 200 and data == content and "X-Injected" not in headers


def test_9_the_session_cookie_carries_no_part_of_the_password_hash(service):
    base, _ = service
    payload = _session_payload(signed_in(base).cookie("session"))
    assert "pw" not in payload and len(payload["sid"]) >= 40


def test_10_a_common_password_is_refused(service):
    base, _ = service
    status, _, body = signed_in(base).form("/account/password", current=PASSWORD, new="1234567890",
                                           confirm="1234567890")
    assert status == 400 and "太常见" in body.decode()


def test_11_https_deployments_send_hsts(service):
    base, _ = service
    _, headers, _ = Browser(base).request("GET", "/")
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_12_the_sqlite_database_file_is_private(tmp_path):
    from service.store import Store

    store = Store(f"sqlite:///{tmp_path / 'jth.sqlite3'}", tmp_path / "files")
    store.migrate()
    store.dispose()
    assert stat.S_IMODE((tmp_path / "jth.sqlite3").stat().st_mode) == 0o600


def test_13_deeply_nested_json_is_a_bad_request_not_a_crash(service):
    base, _ = service
    body = ("[" * 1000 + "]" * 1000).encode()
    for path in ("/api/v1/campaigns/jth-2020/forms/recommendation_letter/render",):
        status, headers, answer = Browser(base).request("POST", path, body, {"Content-Type": "application/json"})
        assert status == 400 and json.loads(answer)["error"]["code"], answer[:300]
