"""Debian's nginx running the repository's site configuration (deploy/nginx/jth.conf, its placeholders filled in)
as a child process in a temporary folder, in front of gunicorn on loopback: for tests/deploy and bench/load.py."""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import os
import shutil
import socket
import ssl
import subprocess
import time
import uuid
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.samples import ROOT

SITE = ROOT / "deploy" / "nginx" / "jth.conf"
CLIENT = "127.0.0.2"  # the browser's address: loopback, but not the one nginx talks to gunicorn from


def free_port() -> int:
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


def _main_conf(folder: Path, site: str, connections: int = 64) -> Path:
    (folder / "site.conf").write_text(site, encoding="utf-8")
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers as root may read the checkout and the temp folder
    temp = "\n".join(f"    {kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi",
                                                                            "scgi"))
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}daemon off;
worker_processes 1;
pid {folder / 'nginx.pid'};
error_log {folder / 'error.log'} warn;
events {{ worker_connections {connections}; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log {folder / 'access.log'};
{temp}
    include {folder / 'site.conf'};
}}
""", encoding="utf-8")
    return conf


def wait_for(port: int, proc: subprocess.Popen, what: str) -> None:
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

    def __init__(self, folder: Path, app_port: int, connections: int = 64) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.http, self.https = free_port(), free_port()
        self.cert, key = _certificate(folder)
        self.conf = _main_conf(folder, _site(folder, self.http, self.https, app_port, self.cert, key), connections)
        command = [_nginx(), "-p", str(folder), "-c", str(self.conf), "-e", str(folder / "error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr  # `nginx -t`, as docs/deployment.md has it run
        assert "[warn]" not in checked.stderr and "[emerg]" not in checked.stderr, checked.stderr
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        wait_for(self.https, self.proc, "nginx")

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


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    """A multipart/form-data body (form fields, then files as field → (file name, bytes)) and its Content-Type, as
    a browser or an API client sends an upload."""
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    for key, (name, data) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"; filename="{name}"\r\n'
                     f"Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"
