"""A claimed job's heartbeat comes from a thread of its own: a step longer than the stale limit (one long
conversion) keeps its claim, and another host cannot take a live job."""

from __future__ import annotations

import datetime as dt
import time

from service.jobs.claim import STALE, Heartbeat, claim
from service.jobs.compile import create_compile_job
from service.store.models import Job, utcnow


def test_the_heartbeat_thread_keeps_a_long_step_claimed(store):
    job_id = create_compile_job(store, "jth-2020", None, "admin")
    assert claim(store, job_id)
    with store.session.begin() as s:  # as if the claim had been taken long ago and nothing had beaten since
        s.get(Job, job_id).heartbeat_at = utcnow() - STALE - dt.timedelta(seconds=5)
    with Heartbeat(store, job_id, every=0.1):
        time.sleep(0.5)  # the work: it writes nothing
        with store.session() as s:
            beat = s.get(Job, job_id).heartbeat_at
        beat = beat if beat.tzinfo else beat.replace(tzinfo=dt.UTC)
        assert utcnow() - beat < dt.timedelta(seconds=2)
    # After the job ends the beat stops: a claim left by a process that went silent can be taken over.
    time.sleep(0.3)
    with store.session() as s:
        last = s.get(Job, job_id).heartbeat_at
    time.sleep(0.3)
    with store.session() as s:
        assert s.get(Job, job_id).heartbeat_at == last
