"""Notices as units and staff meet them: told when a file is returned (with the reviewer's message), withdrawn,
reassigned, restored or accepted; reminded before a deadline of the forms still missing, once; staff's daily
digest; every notice kept until read."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.confirm import confirm_items
from service.actions.intake import IntakeError, receive
from service.actions.notices import digest, mark_read, notices_for, remind, reminder_offset, unread_count
from service.actions.reassign import reassign
from service.actions.restore import restore
from service.actions.return_for_changes import return_for_changes
from service.actions.review import decide
from service.actions.withdraw import withdraw
from service.render.form import render
from service.store.auth import create_user
from service.store.models import Notice, User
from tests.support.samples import sample

ON_TIME = dt.datetime(2020, 11, 20, 8, tzinfo=dt.UTC)
LATE = dt.datetime(2020, 11, 26, 8, tzinfo=dt.UTC)
STAFF = Actor("审核员甲", "admin")
DEADLINE = dt.date(2020, 11, 23)  # jth-2020


@pytest.fixture
def people(store):
    """Two accounts for 辽宁 (one with an e-mail address), one for 天津, a disabled one for 辽宁, two staff."""
    with store.session.begin() as s:
        for name, role, unit, email in (("liaoning", "recommender", "edu-ln", "ln@example.cn"),
                                        ("liaoning2", "recommender", "edu-ln", ""),
                                        ("tianjin", "recommender", "edu-tj", "tj@example.cn"),
                                        ("gone", "recommender", "edu-ln", "gone@example.cn"),
                                        ("审核员甲", "admin", None, "staff@example.cn"),
                                        ("审核员乙", "admin", None, "")):
            user = create_user(s, name, "notice-password-1", role, unit)
            user.email, user.disabled = email, name == "gone"
    return {name: _user_id(store, name) for name in ("liaoning", "liaoning2", "tianjin", "gone", "审核员甲", "审核员乙")}


def _user_id(store, name: str) -> int:
    with store.session() as s:
        return s.scalar(select(User.id).where(User.username == name))


def _letter(**changes) -> bytes:
    return render("jth-2020", "recommendation_letter", {**sample("recommendation_letter"), **changes}).content


def _send(store, data: bytes, who: str = "edu-ln", at: dt.datetime = ON_TIME, name: str = "推荐书.docx") -> int:
    return receive(store, data, name, campaign_id="jth-2020", recommender_id=who, uploader=who,
                   received_at=at).submission_id


def _titles(store, user_id: int) -> list[str]:
    return [n["title"] for n in notices_for(store, user_id)]


def test_a_returned_file_tells_its_unit_with_the_reviewer_s_message(store, people):
    sub = _send(store, _letter())
    return_for_changes(store, sub, STAFF, "请补充成员单位的联系人。")
    [notice] = notices_for(store, people["liaoning"])
    assert notice["title"] == "您报送的材料被退回修改"
    assert "请补充成员单位的联系人。" in notice["body"] and "推荐书.docx" in notice["body"]
    assert "示范性职业教育集团（联盟）推荐书" in notice["body"]
    assert notice["link"] == f"/r/submissions/{sub}" and not notice["read"]
    assert _titles(store, people["liaoning2"]) == ["您报送的材料被退回修改"]  # every account of the unit
    assert _titles(store, people["gone"]) == []  # a disabled account hears nothing
    assert _titles(store, people["tianjin"]) == []  # nor another unit
    with store.session() as s:  # queued for e-mail where there is an address, in the app only where there is none
        states = dict(s.execute(select(User.username, Notice.mail_state).join(User)).all())
    assert states == {"liaoning": "pending", "liaoning2": ""}


def test_the_unit_s_own_withdrawal_tells_its_other_accounts_not_the_one_who_did_it(store, people):
    sub = _send(store, _letter())
    withdraw(store, sub, Actor("liaoning", "recommender", "edu-ln"), "推荐了错误的集团",
             now=dt.datetime(2020, 11, 22, tzinfo=dt.UTC))
    assert _titles(store, people["liaoning"]) == []
    [notice] = notices_for(store, people["liaoning2"])
    assert notice["title"] == "您报送的材料已撤回"
    assert "本单位账号 liaoning" in notice["body"] and "推荐了错误的集团" in notice["body"]
    restore(store, sub, STAFF)
    assert _titles(store, people["liaoning"]) == ["您报送的材料已恢复"]
    assert "当前状态：" in notices_for(store, people["liaoning"])[0]["body"]


def test_a_reassigned_file_tells_the_unit_it_left_and_the_unit_it_went_to(store, people):
    stray = _send(store, _letter(), who="edu-tj", name="错放的推荐书.docx")
    new_id = reassign(store, stray, "edu-ln", STAFF, "批量导入时选错了单位")
    [left] = notices_for(store, people["tianjin"])
    assert left["title"] == "一份材料已从您单位名下改派给其他单位"
    assert "辽宁省教育厅" in left["body"] and "批量导入时选错了单位" in left["body"]
    assert left["link"] == f"/r/submissions/{stray}"
    [came] = notices_for(store, people["liaoning"])
    assert came["title"] == "一份材料已改派到您单位名下"
    assert "天津市教育委员会" in came["body"] and came["link"] == f"/r/submissions/{new_id}"


def test_acceptance_by_a_reviewer_is_told_once(store, people):
    sub = _send(store, _letter(), at=LATE)
    decide(store, sub, "#SUBMISSION_LATE", "accept", "审核员甲", note="经请示同意受理")
    assert _titles(store, people["liaoning"]) == ["您报送的材料已通过审核"]
    with pytest.raises(IntakeError):
        decide(store, sub, "#SUBMISSION_LATE", "correct", "审核员甲", value="x")
    decide(store, sub, "#SUBMISSION_LATE", "accept", "审核员甲", note="再次确认")
    assert _titles(store, people["liaoning"]) == ["您报送的材料已通过审核"]  # still once


def test_a_bulk_confirmation_tells_the_unit_of_each_file_accepted(store, people):
    first = _send(store, _letter(), at=LATE)
    second = _send(store, _letter(group_name="辽宁海洋经济职业教育集团"), at=LATE, name="推荐书2.docx")
    assert confirm_items(store, "jth-2020", "SUBMISSION_LATE", "经批准延期报送", STAFF) == [first, second]
    told = notices_for(store, people["liaoning"])
    assert [n["title"] for n in told] == ["您报送的材料已通过审核"] * 2
    assert {n["submission_id"] for n in told} == {first, second}
    assert "辽宁海洋经济职业教育集团" in told[0]["body"] + told[1]["body"]
    assert _titles(store, people["tianjin"]) == []


def test_reminders_go_to_units_with_a_form_missing_once_per_offset(store, people):
    _send(store, _letter())  # 辽宁 sent a letter, not yet the 汇总表; 天津 nothing
    assert remind(store, today=DEADLINE - dt.timedelta(days=8)) == 0  # before the first reminder
    made = remind(store, today=DEADLINE - dt.timedelta(days=7))
    assert made == 3  # liaoning, liaoning2, tianjin; the disabled account and units without accounts: none
    [ln] = notices_for(store, people["liaoning"])
    assert ln["title"] == "报送截止提醒：距离报送截止还有 7 天"
    assert "推荐名单汇总表" in ln["body"] and "推荐书" not in ln["body"].replace("推荐名单汇总表", "")
    assert "2020-11-23" in ln["body"] and ln["link"] == "/r/"
    [tj] = notices_for(store, people["tianjin"])
    assert "示范性职业教育集团（联盟）推荐书" in tj["body"] and "推荐名单汇总表" in tj["body"]
    assert remind(store, today=DEADLINE - dt.timedelta(days=7)) == 0  # twice: nothing new
    assert remind(store, today=DEADLINE - dt.timedelta(days=5)) == 0  # the 7-day reminder was made
    assert remind(store, today=DEADLINE - dt.timedelta(days=3)) == 3
    assert remind(store, today=DEADLINE) == 3  # a missed 1-day reminder is made up on the day
    assert _titles(store, people["tianjin"])[0] == "报送截止提醒：今天是报送截止日"
    assert remind(store, today=DEADLINE + dt.timedelta(days=1)) == 0  # past the deadline


def test_a_unit_with_every_form_in_gets_no_reminder(store, people):
    _send(store, _letter())
    summary = render("jth-2020", "summary_table", sample("summary_table")).content
    _send(store, summary, name="汇总表.xlsx")
    remind(store, today=DEADLINE - dt.timedelta(days=1))
    assert _titles(store, people["liaoning"]) == []
    assert len(_titles(store, people["tianjin"])) == 1


def test_reminder_offsets_reach_the_nearest_one_due():
    assert [reminder_offset([7, 3, 1], left) for left in (9, 7, 6, 3, 2, 1, 0, -1)] == [None, 7, 7, 3, 3, 1, 1, None]


def test_the_staff_digest_counts_new_files_and_the_queue_once_a_day(store, people):
    now = dt.datetime(2020, 11, 21, 0, tzinfo=dt.UTC)  # 08:00 in Beijing
    assert digest(store, now) == 0  # nothing to say
    _send(store, _letter(), at=LATE)  # late: in the review queue
    _send(store, b"%PDF-1.4 not a form", at=LATE, name="扫描件.pdf")  # an upload that counts for no one
    assert digest(store, LATE + dt.timedelta(hours=1)) == 2  # both staff, not the units
    [d] = notices_for(store, people["审核员甲"])
    assert d["title"] == "平台每日摘要（2020-11-26）" and d["link"] == "/admin/review"
    assert "新收到文件 2 份" in d["body"] and "待复核 1 份" in d["body"] and "未计入的上传（待清除或改派）1 份" in d["body"]
    assert digest(store, LATE + dt.timedelta(hours=2)) == 0  # once a day
    assert _titles(store, people["liaoning"]) == []


def test_notices_stay_until_read_and_only_their_owner_marks_them(store, people):
    sub = _send(store, _letter())
    return_for_changes(store, sub, STAFF, "请修改。")
    restore(store, sub, STAFF)
    me = people["liaoning"]
    assert unread_count(store, me) == 2
    first = notices_for(store, me)[-1]["id"]
    with pytest.raises(IntakeError) as exc:
        mark_read(store, people["tianjin"], first)
    assert exc.value.code == "NOTICE_NOT_FOUND"
    assert mark_read(store, me, first) == 1 and unread_count(store, me) == 1
    assert mark_read(store, me) == 1 and unread_count(store, me) == 0
    assert len(notices_for(store, me)) == 2  # read, not gone
