"""The store and intake on a real database (SQLite, or PostgreSQL when DATABASE_URL is set)."""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile

import pytest
from sqlalchemy import func, select

from service.actions.history import history
from service.actions.intake import IntakeError, add_attachment, receive, staff_message
from service.actions.review import decide
from service.jobs.ingest import create_job, run_job
from service.jobs.summary import job_summary
from service.render.form import render
from service.store.models import AuditEntry, StoredFile, Submission, Upload
from tests.support.records import letter
from tests.support.samples import sample

ON_TIME = dt.datetime(2020, 11, 20, 9, tzinfo=dt.UTC)
LN_ON_TIME = dt.datetime(2018, 6, 1, 9, tzinfo=dt.UTC)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def doc(form_id: str = "recommendation_letter", record: dict | None = None, entity: str | None = None) -> bytes:
    campaign = "ln-2018" if form_id == "work_summary" else "jth-2020"
    return render(campaign, form_id, record if record is not None else sample(form_id), entity).content


LATE = dt.datetime(2020, 11, 25, 10, tzinfo=dt.UTC)  # the deadline was 2020-11-23


def submit(store, data: bytes, name: str = "推荐书.docx", who: str = "edu-ln", campaign: str = "jth-2020", **kw):
    kw.setdefault("received_at", ON_TIME if campaign == "jth-2020" else LN_ON_TIME)
    return receive(store, data, name, campaign_id=campaign, recommender_id=who, uploader="tester", **kw)


def count(store, model) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_file_is_kept_before_parsing_even_when_unreadable(store):
    got = submit(store, b"PK\x03\x04 not really a zip", "坏文件.docx")
    assert got.status == "unreadable"
    assert store.files.get(got.sha256) == b"PK\x03\x04 not really a zip"
    with store.session() as s:
        upload = s.get(Upload, got.upload_id)
        assert (upload.original_name, upload.uploader, upload.campaign_id) == ("坏文件.docx", "tester", "jth-2020")
        sub = s.get(Submission, got.submission_id)
        assert sub.report["errors"][0]["code"] == "ZIP_CORRUPT"


def test_same_bytes_twice_are_one_file_and_one_submission(store):
    data = doc()
    first = submit(store, data)
    again = submit(store, data, "推荐书（重新上传）.docx")
    assert (first.outcome, again.outcome) == ("new", "duplicate")
    assert again.submission_id == first.submission_id and again.status == first.status
    assert count(store, StoredFile) == 1 and count(store, Submission) == 1 and count(store, Upload) == 2


def test_resubmission_supersedes_and_history_shows_changes(store):
    first = submit(store, doc())
    changed = letter(contact_name="李新", members_school=22, members_total=94)
    second = submit(store, doc(record=changed), "推荐书-修改.docx")
    assert second.outcome == "superseded"
    versions = history(store, second.submission_id)
    assert [v["version"] for v in versions] == [1, 2]
    assert [v["is_current"] for v in versions] == [False, True]
    assert {c["path"]: (c["before"], c["after"]) for c in versions[1]["changes"]} == {
        "contact_name": ("张晓明", "李新"), "members_school": (21, 22), "members_total": (93, 94)}
    with store.session() as s:
        assert s.get(Submission, first.submission_id).superseded_by == second.submission_id


def test_work_summary_without_policy_documents_is_flagged_then_accepted(store):
    got = submit(store, doc("work_summary", entity="ln-08"), "工作总结.docx", who="ln-08", campaign="ln-2018")
    assert got.status == "needs_review"
    with store.session() as s:
        problems = s.get(Submission, got.submission_id).report
    add_attachment(store, got.submission_id, "policy_documents", "集团章程.pdf", PDF, "tester")
    with store.session() as s:
        sub = s.get(Submission, got.submission_id)
        assert sub.status == "accepted" and [a.media for a in sub.attachments] == ["pdf"]
    assert problems["status"] == "accepted"  # the file itself was fine; the missing attachment was the reason


def test_attachment_of_a_wrong_type_is_refused_with_a_code(store):
    with pytest.raises(IntakeError) as exc:
        submit(store, doc("work_summary", entity="ln-08"), "工作总结.docx", who="ln-08", campaign="ln-2018",
               attachments=[("policy_documents", "说明.txt", "纯文本".encode())])
    assert exc.value.code == "ATTACHMENT_TYPE" and "PDF" in exc.value.message


def test_submitting_for_another_recommender_is_rejected(store):
    got = submit(store, doc(), who="edu-bj")
    with store.session() as s:
        codes = [p["code"] for p in s.get(Submission, got.submission_id).report["errors"]]
    assert "SUBMITTER_MISMATCH" in codes and got.status == "misdirected"


def test_group_recommended_by_two_recommenders_is_flagged_on_both_without_naming_the_other(store):
    mine = submit(store, doc())
    other_record = letter(recommender="全国石油和化工职业教育教学指导委员会", recommender_type="行业职业教育教学指导委员会")
    other = submit(store, doc(record=other_record), who="hzw-shihua")
    with store.session() as s:
        for sub_id, name in ((mine.submission_id, "石油和化工"), (other.submission_id, "辽宁省教育厅")):
            sub = s.get(Submission, sub_id)
            flag = next(p for p in sub.cross_problems if p["code"] == "GROUP_MULTIPLE_RECOMMENDERS")
            assert name not in str(sub.cross_problems) and sub.status == "needs_review"  # units don't learn who
            assert name in staff_message(store, sub, flag)  # the staff do


def test_a_rejected_letter_does_not_disturb_the_unit_that_recommended_the_group(store):
    mine = submit(store, doc(), received_at=LATE)
    before = mine.status
    refused = submit(store, doc(), who="edu-bj")  # 北京 sends 辽宁's letter: refused for who sent it
    assert refused.status == "misdirected"
    with store.session() as s:
        sub = s.get(Submission, mine.submission_id)
        assert sub.status == before == "late"
        assert "GROUP_MULTIPLE_RECOMMENDERS" not in {p["code"] for p in sub.cross_problems}
        assert staff_message(store, sub, {"code": "GROUP_MULTIPLE_RECOMMENDERS", "message": "x"}) == "x"


def test_summary_table_and_letters_are_checked_together(store):
    table = submit(store, doc("summary_table"), "汇总表.xlsx")
    with store.session() as s:
        assert {p["code"] for p in s.get(Submission, table.submission_id).cross_problems} == {"RANK_NO_LETTER"}
    submit(store, doc())
    second = letter(group_name="辽宁医药卫生职业教育集团", lead_units=["辽宁医药职业学院"], founded="2013-09",
                    legal_person="是", contact_name="王芳", contact_mobile="13840012345", members_school=10,
                    members_enterprise=40, members_industry=2, members_research=2, members_other=1, members_total=55)
    submit(store, doc(record=second), "推荐书2.docx")
    with store.session() as s:
        sub = s.get(Submission, table.submission_id)
        assert sub.cross_problems == [] and sub.status == "accepted"


def test_review_decisions_are_audited_and_keep_the_original(store):
    from tests.support import docx_edit as de

    content = de.edit(doc(), lambda r: de.set_text(de.below(r, "学校"), "约21"))
    got = submit(store, content)
    assert got.status == "needs_review"
    with pytest.raises(IntakeError) as exc:
        decide(store, got.submission_id, "members_school", "accept", "reviewer", value=99)
    assert exc.value.code == "REVIEW_NOT_A_CANDIDATE"
    sub = decide(store, got.submission_id, "members_school", "accept", "reviewer")
    assert sub.record["members_school"] == 21 and sub.status == "accepted"
    assert sub.report["record"].get("members_school") is None  # what was read stays as read
    with pytest.raises(IntakeError) as exc:
        decide(store, got.submission_id, "members_school", "accept", "reviewer")
    assert exc.value.code == "REVIEW_NOT_FLAGGED"
    sub = decide(store, got.submission_id, "members_school", "correct", "reviewer", value=20, note="电话核实")
    assert sub.record["members_school"] == 20 and sub.status == "rejected"  # 20 no longer adds up to 93
    with store.session() as s:
        actions = [a.action for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("review") == 2 and "upload" in actions and "submit" in actions


# ---- bulk ingest --------------------------------------------------------------------------------------------


def bulk_zip(entries: dict[str, bytes], gbk: set[str] = frozenset(), utf8_unflagged: set[str] = frozenset()) -> bytes:
    """A zip as people make them; names in ``gbk`` written the way Chinese Windows does (GBK, no UTF-8 flag),
    names in ``utf8_unflagged`` the way Linux and macOS zip tools do (UTF-8, no flag)."""
    out = io.BytesIO()
    placeholders = {}
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for n, (name, data) in enumerate(entries.items()):
            if name in gbk or name in utf8_unflagged:
                raw = name.encode("gbk" if name in gbk else "utf-8")
                placeholder = f"{n:0{len(raw)}d}".encode()
                placeholders[placeholder] = raw
                name = placeholder.decode()
            zf.writestr(name, data)
    data = out.getvalue()
    for placeholder, raw in placeholders.items():
        assert data.count(placeholder) == 2  # local header and central directory
        data = data.replace(placeholder, raw)
    return data


def test_bulk_zip_gives_a_result_per_file(store, tmp_path):
    inner = bulk_zip({"a.docx": doc()})
    same = doc()
    entries = {
        "辽宁/推荐书.docx": same,
        "辽宁/汇总表.xlsx": doc("summary_table"),
        "辽宁/推荐书-副本.docx": same,
        "../evil.docx": doc(),
        "嵌套.zip": inner,
        "扫描件.pdf": PDF,
        "旧版推荐书.docx": doc(record=letter(group_name="辽宁冶金职业教育集团")),
    }
    path = tmp_path / "辽宁报送.zip"
    entries["Mac打包的推荐书.docx"] = doc(record=letter(group_name="辽宁化工职业教育集团"))
    path.write_bytes(bulk_zip(entries, gbk={"旧版推荐书.docx"}, utf8_unflagged={"Mac打包的推荐书.docx"}))
    job_id = create_job(store, [{"kind": "path", "path": str(path)}], "jth-2020", "edu-ln", "tester")
    run_job(store, job_id)
    summary = job_summary(store, job_id)
    results = {item["name"].split("!", 1)[1]: (item["result"], item["code"]) for item in summary["items"]}
    assert results["../evil.docx"] == ("unreadable", "ZIP_UNSAFE_PATH")
    assert results["嵌套.zip"] == ("unreadable", "ARCHIVE_NESTED")
    assert results["扫描件.pdf"][0] == "unreadable"
    assert results["辽宁/推荐书-副本.docx"][0] == "duplicate"
    assert "旧版推荐书.docx" in results and "Mac打包的推荐书.docx" in results  # GBK and unflagged UTF-8 names
    assert results["辽宁/推荐书.docx"][0] in ("accepted", "needs_review", "rejected", "late")
    assert summary["state"] == "done" and summary["total"] == summary["done"] == 8
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Submission)) == 5  # 3 letters, 1 table, the PDF scan


def _overlapping_zip() -> bytes:
    """Two directory entries pointing at one compressed block (the “non-recursive” zip bomb, in small)."""
    data = bulk_zip({"a.docx": doc(), "b.docx": doc()})
    second = data.rfind(b"PK\x01\x02")
    return data[:second + 42] + (0).to_bytes(4, "little") + data[second + 46:]


@pytest.mark.parametrize(("make", "code"), [
    (_overlapping_zip, "ZIP_BOMB"),
    (lambda: bulk_zip({"a.docx": doc()})[:-30], "ZIP_CORRUPT"),  # the end of the central directory cut off
])
def test_a_broken_or_hostile_batch_is_refused_whole_in_chinese(store, tmp_path, make, code):
    path = tmp_path / "报送.zip"
    path.write_bytes(make())
    job_id = create_job(store, [{"kind": "path", "path": str(path)}], "jth-2020", "edu-ln", "tester")
    run_job(store, job_id)
    items = job_summary(store, job_id)["items"]
    assert [(i["result"], i["code"]) for i in items] == [("unreadable", code)]
    assert re.search("[\u4e00-\u9fff]{6}", items[0]["message"]) and not re.search("[A-Za-z]{4}", items[0]["message"])


def test_bulk_ingest_killed_with_sigkill_resumes_with_nothing_lost_or_counted_twice(store, tmp_path):
    """The CLI's ingest is killed (kill -9) in the middle; `ingest --resume` finishes the same job exactly."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from service.store.models import Job, JobItem

    letters = [doc(record=letter(group_name=f"辽宁第{i}号示范职业教育集团")) for i in range(60)]
    entries = {f"推荐书{i:02d}.docx": data for i, data in enumerate(letters)}
    entries.update({f"重复{i}.docx": letters[i] for i in range(5)})
    path = tmp_path / "批量.zip"
    path.write_bytes(bulk_zip(entries))
    env = dict(os.environ, JTH_DATABASE_URL=store.url, JTH_FILE_STORE=str(store.files.root))
    flask = [sys.executable, "-m", "flask", "--app", "wsgi"]
    proc = subprocess.Popen([*flask, "ingest", str(path), "--campaign", "jth-2020", "--as", "edu-ln"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        with store.session() as s:
            done = s.scalar(select(func.count()).select_from(JobItem).where(JobItem.state == "done")) or 0
        if done >= 8:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the ingest finished before it could be killed; make the batch larger"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with store.session() as s:
        job = s.scalars(select(Job)).one()
        assert job.state == "running" and 8 <= job.done < 65
    resumed = subprocess.run([*flask, "ingest", "--resume", "--json"], env=env, capture_output=True, text=True,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    with store.session() as s:
        job = s.scalars(select(Job)).one()
        assert (job.state, job.total, job.done) == ("done", 65, 65)
        items = list(s.scalars(select(JobItem).order_by(JobItem.seq)))
        assert [i.seq for i in items] == list(range(1, 66)) and all(i.state == "done" for i in items)
        assert sum(i.result == "duplicate" for i in items) == 5
        assert s.scalar(select(func.count()).select_from(Submission)) == 60
        assert s.scalar(select(func.count()).select_from(Upload)) == 65
        assert s.scalar(select(func.count()).select_from(StoredFile)) == 60
    for data in letters:
        assert store.files.get(__import__("hashlib").sha256(data).hexdigest()) == data


def test_the_migrations_build_exactly_the_models(store):
    """A column added to a model without its Alembic revision (or the reverse) would break a deployed database."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from service.store.models import Base

    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_a_late_submission_is_taken_in_by_a_reviewer_and_that_is_audited(store):
    late = submit(store, doc(), received_at=dt.datetime(2020, 11, 30, 9, tzinfo=dt.UTC))
    assert late.status == "late"
    with pytest.raises(IntakeError) as info:
        decide(store, late.submission_id, "#FORM_STAMP_MISMATCH", "accept", "审核员")  # not one of its items
    assert info.value.code == "REVIEW_NOT_FLAGGED"
    with pytest.raises(IntakeError):
        decide(store, late.submission_id, "#SUBMISSION_LATE", "correct", "审核员", value="x")
    sub = decide(store, late.submission_id, "#SUBMISSION_LATE", "accept", "审核员", note="经请示同意受理")
    assert sub.status == "accepted" and sub.record == late_record(store, late.submission_id)
    assert "#SUBMISSION_LATE" in sub.report["decisions"]
    with store.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "review")).one()
    assert (entry.actor, entry.detail["before"], entry.detail["after"]) == ("审核员", "late", "accepted")


def late_record(store, submission_id: int) -> dict:
    with store.session() as s:
        return s.get(Submission, submission_id).report["record"]


def test_a_name_close_to_a_first_batch_group_is_confirmed_as_read(store):
    """The candidate offered is the first-batch group itself; the reviewer confirms the name as written."""
    near = submit(store, doc(record=letter(group_name="北京现代制造职业教育集团")))
    assert near.status == "needs_review"
    with pytest.raises(IntakeError) as info:
        decide(store, near.submission_id, "group_name", "correct", "审核员", value="")
    assert info.value.code == "REVIEW_VALUE_REQUIRED"
    sub = decide(store, near.submission_id, "#GROUP_FIRST_BATCH_NEAR", "accept", "审核员", note="经核实为不同集团")
    assert sub.status == "accepted" and sub.record["group_name"] == "北京现代制造职业教育集团"


def test_a_correction_must_itself_be_valid(store):
    got = submit(store, doc())
    for path, value in (("legal_person", "也许"), ("contact_email", "zhangxm@lnpc.edu.cn。"), ("members_total", -3)):
        with pytest.raises(IntakeError) as info:
            decide(store, got.submission_id, path, "correct", "审核员", value=value)
        assert info.value.code == "REVIEW_VALUE_INVALID" and "更正值不符合要求" in info.value.message
    sub = decide(store, got.submission_id, "contact_title", "correct", "审核员", value="秘书长", note="电话核实")
    assert sub.record["contact_title"] == "秘书长"


def test_a_flag_without_candidates_is_accepted_as_read(store):
    from tests.support import docx_edit as de

    content = de.edit(doc(), lambda r: (de.remove_tags(r), de.set_text(de.cells_by_label(r, "职务")[0], "")))
    got = submit(store, content)
    with store.session() as s:
        codes = {(p["code"], p.get("path")) for p in s.get(Submission, got.submission_id).report["warnings"]}
    assert ("FIELD_LABEL_MISSING", "contact_title") in codes
    sub = decide(store, got.submission_id, "contact_title", "accept", "审核员", note="职务栏可空")
    assert "contact_title" not in sub.record and "contact_title" in sub.report["decisions"]


def test_a_broken_uploaded_zip_is_named_as_uploaded(store):
    data = b"PK\x03\x04 this is not really a zip"
    sha = store.files.put(data)
    with store.session.begin() as s:
        s.add(StoredFile(sha256=sha, size=len(data)))
    job_id = create_job(store, [{"kind": "stored", "sha256": sha, "name": "辽宁报送.zip"}], "jth-2020", "edu-ln", "t")
    run_job(store, job_id)
    assert [(i["name"], i["code"]) for i in job_summary(store, job_id)["items"]] == [("辽宁报送.zip", "ZIP_CORRUPT")]


def test_the_job_runner_starts_before_the_database_is_migrated(tmp_path):
    """flask init-db under JTH_JOBS_AUTOSTART: the app (and its runner) exists before the tables do."""
    from service.jobs.runner import ThreadRunner
    from service.store import Store

    bare = Store(f"sqlite:///{tmp_path / 'new.sqlite3'}", tmp_path / "files")
    try:
        ThreadRunner(bare).start()  # no error; nothing to resume
        bare.migrate()
    finally:
        bare.dispose()


def test_a_result_always_says_why_even_when_the_reason_is_across_files(store):
    got = [submit(store, doc(record=letter(group_name=f"辽宁第{i}号示范职业教育集团"))) for i in range(6)]
    last = got[-1]
    assert last.status == "rejected" and last.code == "QUOTA_EXCEEDED" and "5" in last.message
