"""Two hosts and a data host, made of network namespaces: a bulk ingest sent to the web host runs on the worker
host; the worker host dies mid-job (its whole process group killed, LibreOffice included) and another worker takes
the job over and finishes it, with nothing lost and nothing filed twice.

    data    10.77.1.1 / 10.77.2.1   PostgreSQL (its own cluster, made here), Redis, S3 (moto's server)
    web     10.77.1.2               gunicorn, 2 processes, JTH_CELERY_BROKER: sends jobs, runs none
    worker  10.77.2.2               flask worker (host name jth-worker-a, then jth-worker-b)

moto's server stands in for the object store (MinIO, OSS, COS, OBS): none installs from Debian. PostgreSQL and
Redis are Debian's. Each "host" has its own network and its own host name, so the claim of a job on another host
is judged by its heartbeat, as between real machines (the claim timeout is 5 s here, 60 s by default).
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from service.render.form import render
from tests.support.netns import Hosts, require_netns
from tests.support.records import letter
from tests.support.redis import redis_command, wait_for_port
from tests.support.samples import FONTS_CONF, ROOT, soffice_convert

PASSWORD = "两台主机-测试-2020"
DB_PORT, REDIS_PORT, S3_PORT, WEB_PORT = 5432, 6379, 9000, 8000
FILES = 36  # half .docx, half .doc (LibreOffice converts those on the worker: the job takes seconds, not one)


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail("没有 PostgreSQL：bash scripts/setup.sh test 会安装 Debian 的 postgresql")
    return found[-1]


def _bundle(folder: Path) -> Path:
    """A zip of returned 推荐书: 18 as .docx, 18 saved as Word 97 .doc by LibreOffice."""
    docx = folder / "docx"
    docx.mkdir(parents=True)
    for i in range(FILES):
        record = dict(letter(), group_name=f"辽宁第{i + 1}号示范职业教育集团")
        (docx / f"推荐书{i + 1:02d}.docx").write_bytes(render("jth-2020", "recommendation_letter", record).content)
    as_doc = sorted(docx.glob("*.docx"))[1::2]
    converted = soffice_convert(as_doc, "doc", folder / "doc", folder / "lo-profile")
    bundle = folder / "推荐书.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        for path in sorted(set(docx.glob("*.docx")) - set(as_doc)) + converted:
            zf.write(path, path.name)
    return bundle


class Cluster:
    """The three hosts and what runs on them."""

    def __init__(self, tmp: Path) -> None:
        self.tmp, self.hosts, self.pg_home = tmp, Hosts(), None
        for name in ("data", "web", "worker"):
            self.hosts.add(name)
        self.hosts.link("data", "web", "10.77.1")
        self.hosts.link("data", "worker", "10.77.2")

    def start_data(self) -> None:
        # PostgreSQL runs as its own user, who cannot enter pytest's private temporary folders: a folder of its own.
        self.pg_home = Path(tempfile.mkdtemp(prefix="jth-two-hosts-pg-"))
        shutil.chown(self.pg_home, "postgres", "postgres")
        pgdata, sockets = self.pg_home / "data", self.pg_home / "sockets"
        for folder in (pgdata, sockets):
            folder.mkdir()
            shutil.chown(folder, "postgres", "postgres")
        pwfile = self.pg_home / "pgpass"
        pwfile.write_text(PASSWORD + "\n", encoding="utf-8")
        shutil.chown(pwfile, "postgres", "postgres")
        subprocess.run(["runuser", "-u", "postgres", "--", _pg_bin("initdb"), "-D", str(pgdata), "-U", "jth",
                        "--pwfile", str(pwfile), "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8",
                        "--locale=C.UTF-8"], check=True, capture_output=True)
        with open(pgdata / "pg_hba.conf", "a", encoding="utf-8") as hba:
            hba.write("host all jth 10.77.0.0/16 scram-sha-256\n")
        self.hosts.start("data", ["runuser", "-u", "postgres", "--", _pg_bin("postgres"), "-D", str(pgdata),
                                  "-p", str(DB_PORT), "-c", "listen_addresses=*", "-c",
                                  f"unix_socket_directories={sockets}", "-c", "fsync=off"], log=self.tmp / "postgres.log")
        self.hosts.start("data", redis_command(self.tmp, REDIS_PORT, bind="0.0.0.0"))
        self.hosts.start("data", [sys.executable, "-m", "moto.server", "-H", "0.0.0.0", "-p", str(S3_PORT)],
                         log=self.tmp / "moto.log")
        for port in (DB_PORT, REDIS_PORT, S3_PORT):
            wait_for_port("127.0.0.1", port, timeout=60, prefix=self.hosts.prefix("data"))
        self.psql("CREATE DATABASE jth", db="postgres")
        made = self.hosts.run("data", [sys.executable, "-c", (
            "import boto3; boto3.client('s3', endpoint_url='http://127.0.0.1:%d', region_name='us-east-1', "
            "aws_access_key_id='jth', aws_secret_access_key='jth-secret').create_bucket(Bucket='jth')") % S3_PORT])
        assert made.returncode == 0, made.stderr

    def psql(self, sql: str, db: str = "jth") -> str:
        done = self.hosts.run("data", ["psql", "-h", "127.0.0.1", "-p", str(DB_PORT), "-U", "jth", "-d", db, "-tAXc",
                                       sql], env={**os.environ, "PGPASSWORD": PASSWORD})
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    def env(self, host: str, **extra: str) -> dict[str, str]:
        """The settings a host's /etc/jth/jth.env would hold: everything shared lives on the data host."""
        data = self.hosts.address("data", host)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JTH_", "DATABASE_URL"))}
        env.update(DATABASE_URL=f"postgresql+psycopg://jth:{PASSWORD}@{data}:{DB_PORT}/jth",
                   JTH_FILE_STORE="s3://jth/files", JTH_S3_ENDPOINT_URL=f"http://{data}:{S3_PORT}",
                   JTH_S3_REGION="us-east-1", JTH_S3_ACCESS_KEY="jth", JTH_S3_SECRET_KEY="jth-secret",
                   JTH_CELERY_BROKER=f"redis://{data}:{REDIS_PORT}/0", JTH_JOB_CLAIM_TIMEOUT="5",
                   JTH_INSTANCE_PATH=str(self.tmp / f"instance-{host}"), FONTCONFIG_FILE=str(FONTS_CONF),
                   JTH_SECRET_KEY="two-hosts-test-secret-key-0123456789", **extra)
        return env

    def flask(self, host: str, *args: str, stdin: str | None = None) -> str:
        done = self.hosts.run(host, [sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT,
                              env=self.env(host), input=stdin)
        assert done.returncode == 0, done.stderr + done.stdout
        return done.stdout

    def start_worker(self, name: str) -> subprocess.Popen:
        return self.hosts.start("worker", [sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--poll", "1"],
                                hostname=name, log=self.tmp / f"{name}.log", cwd=ROOT, env=self.env("worker"))

    def curl(self, *args: str) -> dict:
        done = self.hosts.run("web", ["curl", "-sS", "--max-time", "60", *args])
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def job(self, job_id: int) -> dict:
        state, done, total, owner = self.psql(
            f"SELECT state, done, total, coalesce(claimed_by, '') FROM jobs WHERE id = {job_id}").split("|")
        return {"state": state, "done": int(done), "total": int(total), "owner": owner}


@pytest.fixture
def cluster(tmp_path):
    require_netns()
    made = Cluster(tmp_path)
    try:
        yield made
    finally:
        made.hosts.close()
        if made.pg_home:
            shutil.rmtree(made.pg_home, ignore_errors=True)


def _wait(cluster: Cluster, job_id: int, until, timeout: float, what: str) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = cluster.job(job_id)
        if until(job):
            return job
        if job["state"] in ("done", "failed"):
            break
        time.sleep(0.2)
    logs = "\n".join(p.name + ":\n" + p.read_text(errors="replace")[-3000:] for p in cluster.tmp.glob("*.log"))
    raise AssertionError(f"{what}: {job}\n{logs}")


def test_a_bulk_ingest_sent_to_the_web_host_survives_the_death_of_its_worker_host(cluster, tmp_path):
    bundle = _bundle(tmp_path / "corpus")
    cluster.start_data()
    cluster.flask("web", "init-db")
    cluster.flask("web", "users", "create", "staff", "--role", "admin", "--password-stdin",
                  stdin=PASSWORD + "\n")
    token = cluster.flask("web", "tokens", "create", "staff", "--name", "两台主机").strip().splitlines()[-1]
    cluster.hosts.start("web", [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{WEB_PORT}",
                                "wsgi:app"], hostname="jth-web", log=tmp_path / "web.log", cwd=ROOT,
                        env=cluster.env("web", JTH_JOBS_AUTOSTART="false"))
    wait_for_port("127.0.0.1", WEB_PORT, timeout=60, prefix=cluster.hosts.prefix("web"))
    worker_a = cluster.start_worker("jth-worker-a")

    answer = cluster.curl("-H", f"Authorization: Bearer {token}", "-F", f"file=@{bundle}", "-F",
                          "recommender=edu-ln", f"http://127.0.0.1:{WEB_PORT}/api/v1/campaigns/jth-2020/ingest")
    assert "job_id" in answer, answer
    job_id = answer["job_id"]
    # The worker host takes it (the web host sends jobs and runs none), and files part of it …
    started = _wait(cluster, job_id, lambda j: j["owner"].startswith("jth-worker-a:") and 0 < j["done"] < j["total"],
                    120, "the worker host never filed part of the job")
    # … and dies, with every process it started.
    cluster.hosts.kill(worker_a)
    assert cluster.job(job_id)["state"] == "running"
    worker_b = cluster.start_worker("jth-worker-b")
    finished = _wait(cluster, job_id, lambda j: j["state"] == "done", 180, "the second worker did not finish it")

    assert 0 < started["done"] < FILES
    assert finished["owner"].startswith("jth-worker-b:")
    assert finished["done"] == finished["total"] == FILES
    # Nothing lost, nothing twice: every entry filed once, under its own channel, each to its own submission.
    assert cluster.psql(f"SELECT count(*), count(DISTINCT seq) FROM job_items WHERE job_id = {job_id} "
                        "AND state = 'done'") == f"{FILES}|{FILES}"
    assert cluster.psql(f"SELECT count(*), count(DISTINCT channel) FROM uploads "
                        f"WHERE channel LIKE 'bulk:{job_id}:%'") == f"{FILES}|{FILES}"
    assert cluster.psql(f"SELECT count(DISTINCT submission_id) FROM job_items WHERE job_id = {job_id}") == str(FILES)
    assert cluster.psql("SELECT count(*) FROM submissions") == str(FILES)
    # The web host serves what the worker host filed, from the shared object store.
    listing = cluster.curl("-H", f"Authorization: Bearer {token}",
                           f"http://127.0.0.1:{WEB_PORT}/api/v1/campaigns/jth-2020/submissions?per_page=100")
    assert len(listing["items"]) == FILES
    assert all(item["readable"] for item in listing["items"])  # .doc included: LibreOffice ran on the worker host
    assert sorted(item["file"] for item in listing["items"]) == [f"推荐书{i + 1:02d}.{'doc' if i % 2 else 'docx'}"
                                                                  for i in range(FILES)]
    original = cluster.hosts.run("web", ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download}",
                                         "-H", f"Authorization: Bearer {token}",
                                         f"http://127.0.0.1:{WEB_PORT}{listing['items'][0]['url']}/file"])
    code, size = original.stdout.split()
    assert code == "200" and int(size) > 5000
    Hosts.kill(worker_b, sig=15)
    assert "后台任务进程已停止" in (tmp_path / "jth-worker-b.log").read_text(encoding="utf-8")
