"""Benchmark: how long a unit's queued jobs make a staff bulk ingest wait, fair order against first come first served.

A unit queues its allowed dossier jobs (each converts its letters with LibreOffice), then the staff queue a bulk
ingest. The in-process runner runs them; the bench prints how long the staff job waited before it started, in units
of one dossier job's run time, for the runner's fair order and, in the same run on a fresh store, for plain
first-come-first-served order (the old behaviour). The stated bound: a staff job waits at most for the one job
already running (ratio <= 1; FIFO waits for all of them).
Usage: python bench/job_fairness.py
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("FONTCONFIG_FILE", str(ROOT / "config" / "fonts.conf"))

from service.actions.intake import receive  # noqa: E402
from service.jobs import runner as runner_module  # noqa: E402
from service.jobs.admission import MAX_WAITING_DEFAULT  # noqa: E402
from service.jobs.compile import create_compile_job  # noqa: E402
from service.jobs.ingest import create_job  # noqa: E402
from service.render.form import render  # noqa: E402
from service.store import Store  # noqa: E402
from service.store.auth import create_user  # noqa: E402
from service.store.models import Job  # noqa: E402

WHEN = dt.datetime(2020, 11, 20, 10, tzinfo=dt.UTC)


def scenario(order: str) -> tuple[float, float]:
    """(seconds the staff job waited, seconds one dossier job took) with the runner in ``order``."""
    tmp = Path(tempfile.mkdtemp())
    store = Store(f"sqlite:///{tmp / 'bench.sqlite3'}", tmp / "files")
    store.migrate()
    store.load_reference()
    letter = json.loads((ROOT / "tests/data/recommendation_letter.json").read_text(encoding="utf-8"))
    for i in range(3):
        receive(store, render("jth-2020", "recommendation_letter", dict(letter, group_name=f"辽宁第{i}职业教育集团"))
                .content, f"推荐书{i}.docx", campaign_id="jth-2020", recommender_id="edu-ln", uploader="bench",
                received_at=WHEN)
    with store.session.begin() as s:
        create_user(s, "provincial", "辽宁-报送-2020-bench", "recommender", "edu-ln")
        create_user(s, "staff", "平台-管理-2020-bench", "admin")
    units = [create_compile_job(store, "jth-2020", "edu-ln", "provincial") for _ in range(MAX_WAITING_DEFAULT)]
    folder = tmp / "in"
    folder.mkdir()
    (folder / "推荐书.docx").write_bytes(render("jth-2020", "recommendation_letter", letter).content)
    staff = create_job(store, [{"kind": "path", "path": str(folder)}], "jth-2020", "edu-ln", "staff")
    queued = time.perf_counter()
    fifo = lambda st: runner_module.unfinished_jobs(st)  # noqa: E731 — the old order: oldest first
    with mock.patch.object(runner_module, "fair_order", fifo if order == "fifo" else runner_module.fair_order):
        runner = runner_module.ThreadRunner(store)
        runner.start()
        runner.queue.join()
    elapsed = time.perf_counter() - queued
    with store.session() as s:
        jobs = {job.id: job for job in s.query(Job).all()}
    finish = sorted(jobs.values(), key=lambda job: job.finished_at)
    one = elapsed / len(finish)
    before_staff = [job for job in finish if job.id in units and job.finished_at <= jobs[staff].finished_at]
    return len(before_staff) * one, one


def main() -> None:
    fair_wait, fair_one = scenario("fair")
    fifo_wait, fifo_one = scenario("fifo")
    print(f"{MAX_WAITING_DEFAULT} dossier jobs of one unit, then one staff ingest, one runner thread")
    print(f"fair order : staff waited {fair_wait:6.1f} s = {fair_wait / fair_one:.1f} unit jobs (bound: <= 1)")
    print(f"FIFO order : staff waited {fifo_wait:6.1f} s = {fifo_wait / fifo_one:.1f} unit jobs")
    print(f"ratio fair/FIFO wait: {fair_wait / fifo_wait if fifo_wait else 0:.2f}")


if __name__ == "__main__":
    main()
