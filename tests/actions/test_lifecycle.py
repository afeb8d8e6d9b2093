"""The submission lifecycle as the platform's users meet it: mistakes undone without losing anything, decisions
that stick across versions, bulk confirmation, extensions, a thread per submission."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.comments import add_comment, comments
from service.actions.confirm import confirm_items
from service.actions.dismiss import dismiss
from service.actions.intake import IntakeError, receive
from service.actions.reassign import reassign
from service.actions.restore import restore
from service.actions.return_for_changes import return_for_changes
from service.actions.review import decide
from service.actions.shapes import detail_of
from service.actions.withdraw import withdraw
from service.forms.catalog import catalog
from service.outputs.exports import export_records
from service.render.form import render
from service.store.models import AuditEntry, Submission
from tests.support import docx_edit as de
from tests.support.samples import sample, soffice_convert

ON_TIME = dt.datetime(2020, 11, 20, 8, tzinfo=dt.UTC)
LATE = dt.datetime(2020, 11, 26, 8, tzinfo=dt.UTC)
STAFF = Actor("审核员甲", "admin")
LIAONING = Actor("liaoning", "recommender", "edu-ln")


def _letter(**changes) -> bytes:
    return render("jth-2020", "recommendation_letter", {**sample("recommendation_letter"), **changes}).content


def _send(store, data: bytes, name: str = "推荐书.docx", who: str = "edu-ln", at: dt.datetime = ON_TIME):
    return receive(store, data, name, campaign_id="jth-2020", recommender_id=who, uploader=who, received_at=at)


def _sub(store, sub_id: int) -> Submission:
    with store.session() as s:
        return s.get(Submission, sub_id)


def _current(store, unit: str) -> list[Submission]:
    with store.session() as s:
        return list(s.scalars(select(Submission).where(Submission.recommender_id == unit,
                                                       Submission.is_current.is_(True))))


def test_a_file_under_the_wrong_unit_counts_for_no_one_and_is_reassigned(store):
    """Beijing's letter ingested under 天津 is an upload, not 天津's submission; Liaoning's own submission is not
    disturbed by it; reassigned, it becomes Liaoning's with its receipt time, and 天津 is as before."""
    mine = _send(store, _letter(), at=LATE)  # 辽宁's own letter, late
    stray = _send(store, _letter(), "错放的推荐书.docx", who="edu-tj")
    assert stray.status == "misdirected"
    assert _sub(store, mine.submission_id).status == "late"  # no "recommended twice", no change
    assert [x.status for x in _current(store, "edu-tj")] == ["misdirected"]
    with store.session() as s:
        assert "GROUP_MULTIPLE_RECOMMENDERS" not in str(s.get(Submission, mine.submission_id).cross_problems)

    new_id = reassign(store, stray.submission_id, "edu-ln", STAFF, "批量导入时选错了单位")
    moved = _sub(store, new_id)
    assert (moved.recommender_id, moved.version, moved.upload_id) == ("edu-ln", 2, stray.upload_id)
    assert moved.received_at.replace(tzinfo=dt.UTC) == ON_TIME  # its own receipt time: not late
    assert _sub(store, stray.submission_id).status == "reassigned"
    assert _sub(store, stray.submission_id).reassigned_to == new_id
    assert not _sub(store, mine.submission_id).is_current  # the newer version replaced the late one
    assert [x.status for x in _current(store, "edu-tj")] == ["reassigned"]
    with store.session() as s:
        entries = [e.action for e in s.scalars(select(AuditEntry).where(AuditEntry.target == f"submission:{stray.submission_id}"))]
    assert entries.count("reassign") == 1


def test_an_unreadable_upload_is_dismissed_and_kept(store):
    got = _send(store, b"%PDF-1.4 not a form", "扫描件.pdf")
    assert got.status == "unreadable"
    assert dismiss(store, got.submission_id, LIAONING, "传错了") == "dismissed"  # its sender may put it aside
    assert store.files.get(_sub(store, got.submission_id).sha256).startswith(b"%PDF")  # the bytes stay
    with pytest.raises(IntakeError) as exc:
        dismiss(store, got.submission_id, STAFF)
    assert exc.value.code == "STATE_NOT_ALLOWED" and "已清除" in exc.value.message
    assert restore(store, got.submission_id, STAFF) == "unreadable"


def test_a_counted_submission_cannot_be_dismissed_only_withdrawn(store):
    got = _send(store, _letter())
    with pytest.raises(IntakeError) as exc:
        dismiss(store, got.submission_id, STAFF)
    assert exc.value.code == "STATE_NOT_ALLOWED" and "撤回" in exc.value.message


def test_the_sender_withdraws_before_the_deadline_only_staff_after(store):
    got = _send(store, _letter())
    with pytest.raises(IntakeError) as exc:
        withdraw(store, got.submission_id, LIAONING, now=dt.datetime(2020, 11, 24, 1, tzinfo=dt.UTC))
    assert exc.value.code == "WITHDRAW_PAST_DEADLINE" and "2020-11-23" in exc.value.message
    assert withdraw(store, got.submission_id, LIAONING, "推荐了错误的集团",
                    now=dt.datetime(2020, 11, 22, tzinfo=dt.UTC)) == "withdrawn"
    # Withdrawn: not exported, not in the quota, the file kept; staff can bring it back.
    assert json.loads(export_records(store, "jth-2020", "json", ("accepted", "needs_review", "late")))[
        "recommendation_letter"] == []
    assert restore(store, got.submission_id, STAFF) in ("accepted", "needs_review")
    with pytest.raises(IntakeError) as exc:
        withdraw(store, got.submission_id, Actor("beijing", "recommender", "edu-bj"))
    assert exc.value.code == "SUBMISSION_NOT_FOUND"  # another unit's submission does not exist for it


def test_a_returned_submission_carries_its_message_until_the_next_version(store):
    got = _send(store, _letter())
    with pytest.raises(IntakeError) as exc:
        return_for_changes(store, got.submission_id, STAFF, "  ")
    assert exc.value.code == "RETURN_MESSAGE_REQUIRED"
    assert return_for_changes(store, got.submission_id, STAFF, "请补充成员单位的联系人。") == "returned"
    detail = detail_of(store, got.submission_id)
    assert detail["state_note"] == "请补充成员单位的联系人。" and detail["state_by"] == "审核员甲"
    with pytest.raises(IntakeError) as exc:
        return_for_changes(store, got.submission_id, LIAONING, "x")
    assert exc.value.code == "STATE_NOT_ALLOWED"  # already returned
    again = _send(store, _letter(contact_name="李华"), "推荐书-修改后.docx")
    assert again.outcome == "superseded" and again.status != "returned"
    assert not _sub(store, got.submission_id).is_current
    with pytest.raises(IntakeError) as exc:
        restore(store, got.submission_id, STAFF)
    assert exc.value.code == "RESTORE_SUPERSEDED"


def test_a_decision_sticks_and_carries_to_the_same_content_saved_as_doc(store, lo_profile, tmp_path):
    """Both 是 and 否 ticked: the reviewer decides 否; the report, the export and the next upload of the same
    content (re-saved by LibreOffice as .doc) all keep 否 and the acceptance of the late file."""
    both = de.edit(_letter(), lambda r: de.set_text(de.right_of(r, "是否具有法人资格"), "☑是　☑否"))
    got = _send(store, both, at=LATE)
    assert got.status == "needs_review"
    decide(store, got.submission_id, "legal_person", "accept", "审核员甲", value="否", note="经电话核实")
    decide(store, got.submission_id, "#SUBMISSION_LATE", "accept", "审核员甲", note="经批准延期")
    detail = detail_of(store, got.submission_id)
    assert detail["status"] == "accepted" and detail["record"]["legal_person"] == "否"
    field = next(f for f in detail["fields"] if f["path"] == "legal_person")
    assert field["value_now"] == "否" and field["decision"]["user"] == "审核员甲" and field["decision"]["note"] == "经电话核实"
    assert detail["record_as_read"].get("legal_person") in (None, "")  # what was read stays as read

    src = tmp_path / "推荐书.docx"
    src.write_bytes(both)
    doc = soffice_convert([src], "doc", tmp_path / "out", lo_profile)[0].read_bytes()
    again = _send(store, doc, "推荐书.doc", at=LATE + dt.timedelta(days=1))
    assert again.outcome == "superseded"
    renewed = detail_of(store, again.submission_id)
    assert renewed["status"] == "accepted", renewed["problems"]
    assert renewed["record"]["legal_person"] == "否"
    carried = {d["path"]: d for d in renewed["decisions"]}
    assert carried["legal_person"]["carried_from"] == got.submission_id and carried["legal_person"]["user"] == "审核员甲"
    assert "#SUBMISSION_LATE" in carried


def test_a_decision_does_not_carry_to_a_changed_value(store):
    both = de.edit(_letter(), lambda r: de.set_text(de.right_of(r, "是否具有法人资格"), "☑是　☑否"))
    got = _send(store, both)
    decide(store, got.submission_id, "legal_person", "accept", "审核员甲", value="否")
    changed = _send(store, _letter(legal_person="是"), "推荐书-新.docx")
    detail = detail_of(store, changed.submission_id)
    assert detail["record"]["legal_person"] == "是" and not detail["decisions"]


def test_bulk_confirmation_of_late_files_with_one_reason(store):
    a = _send(store, _letter(), at=LATE)
    b = _send(store, _letter(group_name="辽宁海洋经济职业教育集团"), "推荐书2.docx", at=LATE)
    with pytest.raises(IntakeError) as exc:
        confirm_items(store, "jth-2020", "SUBMISSION_LATE", "", STAFF)
    assert exc.value.code == "BULK_REASON_REQUIRED"
    with pytest.raises(IntakeError) as exc:
        confirm_items(store, "jth-2020", "FIELD_AMBIGUOUS", "x", STAFF)
    assert exc.value.code == "BULK_NOT_DOCUMENT_ITEM"
    with pytest.raises(IntakeError) as exc:
        confirm_items(store, "jth-2020", "SUBMISSION_LATE", "x", LIAONING)
    assert exc.value.code == "STATE_FORBIDDEN"
    done = confirm_items(store, "jth-2020", "SUBMISSION_LATE", "经批准延期报送", STAFF)
    assert sorted(done) == sorted([a.submission_id, b.submission_id])
    assert {_sub(store, i).status for i in done} <= {"accepted", "needs_review"}
    assert all(d["note"] == "经批准延期报送" for i in done for d in detail_of(store, i)["decisions"])
    assert confirm_items(store, "jth-2020", "SUBMISSION_LATE", "again", STAFF) == []  # nothing left to confirm


def test_a_file_within_its_units_extension_is_not_late(store, monkeypatch):
    campaign = catalog().campaign("jth-2020")
    monkeypatch.setitem(campaign.data, "deadline_extensions", [{"until": "2020-11-30", "units": ["edu-ln"],
                                                                 "reason": "疫情延期"}])
    assert _send(store, _letter(), at=LATE).status != "late"
    other = _send(store, _letter(recommender="北京市教育委员会", group_name="北京现代服务业职业教育集团"),
                  who="edu-bj", at=LATE)
    assert other.status in ("late", "needs_review", "rejected")
    with store.session() as s:
        codes = [p["code"] for p in s.get(Submission, other.submission_id).report["warnings"]]
    assert "SUBMISSION_LATE" in codes


def test_the_thread_follows_the_versions_and_stays_with_its_unit(store):
    got = _send(store, _letter())
    add_comment(store, got.submission_id, STAFF, "请确认成员单位数。")
    add_comment(store, got.submission_id, LIAONING, "已核对，重新上传。")
    newer = _send(store, _letter(contact_name="李华"), "推荐书-2.docx")
    thread = comments(store, newer.submission_id, LIAONING)
    assert [(c["author_role"], c["version"]) for c in thread] == [("staff", 1), ("unit", 1)]
    with pytest.raises(IntakeError) as exc:
        add_comment(store, got.submission_id, Actor("beijing", "recommender", "edu-bj"), "看看")
    assert exc.value.code == "SUBMISSION_NOT_FOUND"
    with pytest.raises(IntakeError) as exc:
        add_comment(store, got.submission_id, LIAONING, "  ")
    assert exc.value.code == "COMMENT_EMPTY"
