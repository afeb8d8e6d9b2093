"""Jobs on Celery with a real Redis (Debian's redis-server on loopback) and a real ``flask worker`` process: a job
sent through the broker runs on the worker; a job queued while the broker was down is not lost; the web side never
runs a job itself."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from service.jobs.celery_runner import CeleryRunner
from service.jobs.ingest import create_job
from service.render.form import render
from service.store import Store
from service.store.models import Job, JobItem, Submission
from tests.support.records import letter
from tests.support.redis import LoopbackRedis, free_port
from tests.support.samples import FONTS_CONF, ROOT, new_store


def _returned_letters(folder: Path, n: int) -> Path:
    folder.mkdir()
    for i in range(n):
        record = dict(letter(), group_name=f"辽宁第{i + 1}号示范职业教育集团")
        (folder / f"推荐书{i + 1:02d}.docx").write_bytes(render("jth-2020", "recommendation_letter", record).content)
    return folder


def _worker(store: Store, tmp_path: Path, broker: str, claim_timeout: float) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JTH_")}
    env.update(DATABASE_URL=store.url, JTH_FILE_STORE=str(store.files.root), JTH_INSTANCE_PATH=str(tmp_path),
               FONTCONFIG_FILE=str(FONTS_CONF), JTH_CELERY_BROKER=broker, JTH_JOB_CLAIM_TIMEOUT=str(claim_timeout))
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--poll", "0.5"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _wait_done(store: Store, job_id: int, worker: subprocess.Popen, timeout: float = 90) -> str:
    deadline, state = time.monotonic() + timeout, "queued"
    while state not in ("done", "failed") and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)
        with store.session() as s:
            state = s.get(Job, job_id).state
    return state


def _stop(worker: subprocess.Popen) -> str:
    worker.send_signal(signal.SIGTERM)
    output, _ = worker.communicate(timeout=60)
    return output


def test_a_job_sent_through_redis_runs_on_the_worker_and_not_in_the_sender(tmp_path):
    store = new_store(tmp_path)
    with LoopbackRedis(tmp_path / "redis") as redis:
        web = CeleryRunner(store, redis.url)
        folder = _returned_letters(tmp_path / "in", 3)
        job_id = create_job(store, [{"kind": "path", "path": str(folder)}], "jth-2020", "edu-ln", "admin")
        web.submit(job_id)
        assert web.waiting_messages() == 1  # in the broker, and this process ran nothing
        with store.session() as s:
            assert s.get(Job, job_id).state == "queued"
        # A claim timeout far longer than the test: only the message can have started the job, not a sweep.
        worker = _worker(store, tmp_path, redis.url, claim_timeout=600)
        try:
            state = _wait_done(store, job_id, worker)
        finally:
            output = _stop(worker)
        assert state == "done", output
        assert web.waiting_messages() == 0
    with store.session() as s:
        names = sorted(sub.original_name for sub in s.query(Submission))
        owner = s.get(Job, job_id).claimed_by
    assert names == ["推荐书01.docx", "推荐书02.docx", "推荐书03.docx"]
    assert owner and owner.endswith(f":{worker.pid}")  # the worker process ran it
    assert worker.returncode == 0, output
    assert "后台任务进程已启动（Celery）" in output and "后台任务进程已停止" in output
    store.dispose()


def test_a_job_queued_while_the_broker_was_down_is_run_when_a_worker_comes(tmp_path):
    store = new_store(tmp_path)
    down = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    folder = _returned_letters(tmp_path / "in", 2)
    job_id = create_job(store, [{"kind": "path", "path": str(folder)}], "jth-2020", "edu-ln", "admin")
    started = time.monotonic()
    CeleryRunner(store, down).submit(job_id)  # the person's request is answered: the job waits in the database
    assert time.monotonic() - started < 30
    with store.session() as s:
        assert s.get(Job, job_id).state == "queued"
    with LoopbackRedis(tmp_path / "redis") as redis:
        worker = _worker(store, tmp_path, redis.url, claim_timeout=1)
        try:
            state = _wait_done(store, job_id, worker)
        finally:
            output = _stop(worker)
    assert state == "done", output
    with store.session() as s:
        assert s.query(Submission).count() == 2
        assert {item.state for item in s.query(JobItem).filter_by(job_id=job_id)} == {"done"}
    store.dispose()
