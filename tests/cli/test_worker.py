"""``flask worker`` (jth-worker.service): the background jobs run in a process of their own that serves no HTTP,
and SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from service.jobs.ingest import create_job
from service.render.form import render
from service.store.models import Job, Submission
from tests.support.records import letter
from tests.support.samples import FONTS_CONF, ROOT, new_store


def test_a_queued_job_is_run_by_the_worker_which_stops_cleanly(tmp_path):
    store = new_store(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JTH_")}
    env.update(DATABASE_URL=store.url, JTH_FILE_STORE=str(store.files.root), JTH_INSTANCE_PATH=str(tmp_path),
               FONTCONFIG_FILE=str(FONTS_CONF))
    worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", "worker", "--poll", "0.3"],
                              cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Queued as the staff's bulk-ingest page queues it, by a web process that stopped before running it.
        returned = tmp_path / "推荐书.docx"
        returned.write_bytes(render("jth-2020", "recommendation_letter", letter(), None).content)
        job_id = create_job(store, [{"kind": "path", "path": str(returned)}], "jth-2020", "edu-ln", "cli")
        deadline = time.monotonic() + 60
        state = "queued"
        while state not in ("done", "failed") and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.2)
            with store.session() as s:
                state = s.get(Job, job_id).state
        assert state == "done", (state, worker.poll())
        with store.session() as s:
            assert [sub.original_name for sub in s.query(Submission)] == ["推荐书.docx"]
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
        store.dispose()
    assert worker.returncode == 0, output
    assert "后台任务进程已启动" in output and "后台任务进程已停止" in output
