"""One user cannot fill the job queue or make staff wait: a cap per user and a fair order (probe finding 5)."""

from __future__ import annotations

import pytest

from service.actions.intake import IntakeError
from service.jobs.admission import MAX_WAITING, MAX_WAITING_DEFAULT
from service.jobs.compile import create_compile_job
from service.jobs.dispatch import fair_order
from service.jobs.ingest import create_job
from service.jobs.runner import ThreadRunner
from service.store.auth import create_user
from service.store.models import Job

PASSWORD = "辽宁-报送-2020-jobs"


@pytest.fixture
def users(store):
    with store.session.begin() as s:
        create_user(s, "provincial", PASSWORD, "recommender", "edu-ln")
        create_user(s, "beijing", PASSWORD, "recommender", "edu-bj")
        create_user(s, "staff", PASSWORD, "admin")
    return store


def test_a_unit_may_not_queue_more_than_its_share(users):
    for _ in range(MAX_WAITING_DEFAULT):
        create_compile_job(users, "jth-2020", "edu-ln", "provincial")
    with pytest.raises(IntakeError) as refused:
        create_compile_job(users, "jth-2020", "edu-ln", "provincial")
    assert refused.value.code == "JOBS_QUEUE_FULL" and refused.value.http_status == 429
    assert f"{MAX_WAITING_DEFAULT} 个后台任务" in refused.value.message
    create_compile_job(users, "jth-2020", "edu-bj", "beijing")  # another unit is not affected
    with users.session() as s:
        assert s.query(Job).filter_by(created_by="provincial").count() == MAX_WAITING_DEFAULT
    assert MAX_WAITING["admin"] > MAX_WAITING_DEFAULT


def test_staff_first_then_one_job_per_user_each_round(users):
    unit = [create_compile_job(users, "jth-2020", "edu-ln", "provincial") for _ in range(3)]
    other = [create_compile_job(users, "jth-2020", "edu-bj", "beijing") for _ in range(2)]
    staff = create_job(users, [], "jth-2020", "edu-ln", "staff")
    assert fair_order(users) == [staff, unit[0], other[0], unit[1], other[1], unit[2]]


def test_the_runner_runs_them_in_that_order(users):
    jobs = [create_compile_job(users, "jth-2020", "edu-ln", "provincial") for _ in range(2)]
    staff = create_compile_job(users, "jth-2020", None, "staff")
    runner = ThreadRunner(users)
    runner.start()
    runner.queue.join()
    with users.session() as s:
        finished = sorted(s.query(Job).all(), key=lambda job: job.finished_at)
        assert [job.id for job in finished] == [staff, *jobs]
        assert {job.state for job in finished} == {"failed"}  # nothing to compile in an empty store: said, not hung
