"""A web process behind a `flask worker` only queues: the job waits in the database for the worker to claim it."""

from __future__ import annotations

from service.jobs.compile import create_compile_job
from service.jobs.runner import ThreadRunner
from service.store.models import Job


def test_a_process_that_only_queues_leaves_the_job_for_the_worker(store):
    job_id = create_compile_job(store, "jth-2020", None, "admin")
    web = ThreadRunner(store, run_here=False)
    web.submit(job_id)
    assert not web.started
    with store.session() as s:
        assert s.get(Job, job_id).state == "queued"
    worker = ThreadRunner(store)
    worker.submit(job_id)
    worker.queue.join()
    with store.session() as s:
        assert s.get(Job, job_id).state in ("done", "failed")
        assert s.get(Job, job_id).claimed_by
