"""Notices by e-mail through a real SMTP server on loopback (aiosmtpd): what a unit receives (Chinese subject,
plain text and HTML, the link to its report), and that a send that fails is kept and goes out once the server is
back; nothing is ever lost."""

from __future__ import annotations

import datetime as dt
import email

import pytest
from sqlalchemy import select, update

from service.actions.actor import Actor
from service.actions.intake import receive
from service.actions.notices import notices_for, notify
from service.actions.return_for_changes import return_for_changes
from service.jobs.mail import MailSender, backoff, mail_settings, send_due
from service.render.form import render
from service.store.auth import create_user
from service.store.models import Notice, User
from tests.support.samples import sample
from tests.support.smtp import LoopbackSMTP

T0 = dt.datetime(2020, 11, 20, 8, tzinfo=dt.UTC)
PUBLIC_URL = "https://jth.example.cn"




def _settings(port: int):
    return mail_settings({"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port, "MAIL_FROM": "noreply@jth.example.cn",
                          "PUBLIC_URL": PUBLIC_URL + "/"})


@pytest.fixture
def people(store):
    with store.session.begin() as s:
        for name, role, unit, mail in (("liaoning", "recommender", "edu-ln", "ln@example.cn"),
                                       ("liaoning2", "recommender", "edu-ln", ""),
                                       ("admin", "admin", None, "staff@example.cn")):
            user = create_user(s, name, "mail-password-1", role, unit, {"admin": "平台管理员"}.get(name, "辽宁省教育厅"))
            user.email = mail


def _user(s, name: str) -> User:
    return s.scalar(select(User).where(User.username == name))


def _notice(store, title: str = "您报送的材料已通过审核", at: dt.datetime = T0) -> int:
    with store.session.begin() as s:
        [made] = notify(s, [_user(s, "liaoning")], "accepted", title, "您报送的推荐书已通过审核。", link="/r/", now=at)
        return made.id


def _row(store, notice_id: int) -> Notice:
    with store.session() as s:
        return s.get(Notice, notice_id)


def _text(msg: email.message.EmailMessage, kind: str) -> str:
    return msg.get_body(preferencelist=(kind,)).get_content()


def test_a_returned_file_reaches_the_unit_by_mail_in_chinese_with_a_link_to_its_report(store, people, smtp, inbox):
    data = render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content
    sub = receive(store, data, "推荐书.docx", campaign_id="jth-2020", recommender_id="edu-ln", uploader="liaoning",
                  received_at=T0).submission_id
    return_for_changes(store, sub, Actor("审核员甲", "admin"), "请补充成员单位的联系人。")

    done = send_due(store, _settings(smtp.port))
    assert (done.sent, done.failed) == (1, 0)  # liaoning2 has no address: the app only
    [(to, msg)] = inbox.received
    assert to == ["ln@example.cn"]
    assert msg["Subject"] == "【示范性职业教育集团报送平台】您报送的材料被退回修改"
    assert "示范性职业教育集团报送平台" in msg["From"] and "noreply@jth.example.cn" in msg["From"]
    plain, page = _text(msg, "plain"), _text(msg, "html")
    assert "辽宁省教育厅：" in plain and "请补充成员单位的联系人。" in plain and "推荐书.docx" in plain
    assert f"{PUBLIC_URL}/r/submissions/{sub}" in plain
    assert f'href="{PUBLIC_URL}/r/submissions/{sub}"' in page and "请补充成员单位的联系人。" in page
    with store.session() as s:
        notice = s.scalar(select(Notice).where(Notice.user_id == _user(s, "liaoning").id))
        assert (notice.mail_state, notice.attempts, notice.last_error) == ("sent", 1, "")
        assert notice.read_at is None  # sent by mail, still unread in the app
        assert s.scalar(select(Notice.mail_state).where(Notice.user_id == _user(s, "liaoning2").id)) == ""
    assert send_due(store, _settings(smtp.port)).sent == 0  # sent once
    assert len(inbox.received) == 1


def test_a_failed_send_is_kept_and_goes_out_when_the_server_is_back(store, people, smtp, inbox):
    port = smtp.port
    smtp.stop()  # the mail server is down
    notice_id = _notice(store)

    done = send_due(store, _settings(port), now=T0)
    assert (done.sent, done.failed) == (0, 1)
    row = _row(store, notice_id)
    assert (row.mail_state, row.attempts) == ("failed", 1)
    assert "ln@example.cn" in row.last_error and "未能发出" in row.last_error
    assert row.next_attempt_at.replace(tzinfo=dt.UTC) == T0 + dt.timedelta(minutes=1)

    assert send_due(store, _settings(port), now=T0 + dt.timedelta(seconds=30)).failed == 0  # not due yet
    done = send_due(store, _settings(port), now=T0 + dt.timedelta(minutes=1))
    assert done.failed == 1
    row = _row(store, notice_id)  # twice as long before the third try
    assert row.attempts == 2 and row.next_attempt_at.replace(tzinfo=dt.UTC) == T0 + dt.timedelta(minutes=3)
    assert [n["title"] for n in notices_for(store, row.user_id)] == ["您报送的材料已通过审核"]  # in the app all along

    back = LoopbackSMTP(inbox, hostname="127.0.0.1", port=port)  # the server comes back
    back.start()
    try:
        done = send_due(store, _settings(port), now=T0 + dt.timedelta(minutes=3))
    finally:
        back.stop()
    assert (done.sent, done.failed) == (1, 0)
    [(to, msg)] = inbox.received
    assert to == ["ln@example.cn"] and msg["Subject"] == "【示范性职业教育集团报送平台】您报送的材料已通过审核"
    row = _row(store, notice_id)
    assert (row.mail_state, row.attempts, row.next_attempt_at) == ("sent", 3, None)


def test_the_back_off_doubles_up_to_six_hours():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [dt.timedelta(minutes=m) for m in (1, 2, 4, 8)]
    assert backoff(20) == dt.timedelta(hours=6)


def test_a_send_left_by_a_process_that_died_is_sent_once_its_claim_is_stale(store, people, smtp, inbox):
    notice_id = _notice(store)
    with store.session.begin() as s:  # a sender claimed it, then its process died before writing the result
        s.execute(update(Notice).where(Notice.id == notice_id)
                  .values(mail_state="sending", next_attempt_at=T0 + dt.timedelta(minutes=10)))
    assert send_due(store, _settings(smtp.port), now=T0 + dt.timedelta(minutes=5)).sent == 0  # maybe still sending
    assert send_due(store, _settings(smtp.port), now=T0 + dt.timedelta(minutes=10)).sent == 1
    assert len(inbox.received) == 1 and _row(store, notice_id).mail_state == "sent"


def test_the_background_sender_makes_the_morning_digest_and_mails_it_to_staff(store, people, smtp, inbox):
    data = render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content
    receive(store, data, "推荐书.docx", campaign_id="jth-2020", recommender_id="edu-ln", uploader="liaoning",
            received_at=dt.datetime(2020, 11, 26, 8, tzinfo=dt.UTC))  # late: in the review queue
    sender = MailSender(store, _settings(smtp.port))
    sender.run_once(dt.datetime(2020, 11, 26, 23, 30, tzinfo=dt.UTC))  # 07:30 in Beijing: no digest yet
    assert inbox.received == []
    sender.run_once(dt.datetime(2020, 11, 27, 0, 5, tzinfo=dt.UTC))  # 08:05
    [(to, msg)] = inbox.received
    assert to == ["staff@example.cn"] and msg["Subject"] == "【示范性职业教育集团报送平台】平台每日摘要（2020-11-27）"
    assert "待复核 1 份" in _text(msg, "plain") and f"{PUBLIC_URL}/admin/review" in _text(msg, "plain")


def test_without_a_mail_server_notices_stay_in_the_app(store, people):
    assert mail_settings({"MAIL_SERVER": ""}) is None
    notice_id = _notice(store)
    MailSender(store, None).run_once(T0)
    row = _row(store, notice_id)
    assert (row.mail_state, row.attempts) == ("pending", 0)  # waits for a server; shown in the app meanwhile
    shown = {n["id"]: n["title"] for n in notices_for(store, row.user_id)}
    assert shown[notice_id] == "您报送的材料已通过审核"
    assert "报送截止提醒：距离报送截止还有 3 天" in shown.values()  # the round's reminders are in the app too


def test_the_command_line_reminds_sends_and_lists(store, people, smtp, inbox):
    from service import create_app

    def run(*args: str, **config) -> str:
        app = create_app({"TESTING": True, "DATABASE_URL": store.url, "FILE_STORE": str(store.files.root), **config})
        app.extensions["jth_store"] = store
        result = app.test_cli_runner().invoke(args=["notices", *args])
        assert result.exit_code == 0, result.output
        return result.output

    assert "已生成 2 条截止提醒" in run("remind", "--today", "2020-11-16")  # both of 辽宁's accounts
    assert "未配置邮件服务器" in run("send")
    mail = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_FROM": "noreply@jth.example.cn"}
    assert "已发送 1 封，失败 0 封" in run("send", **mail)
    [(to, msg)] = inbox.received
    assert msg["Subject"] == "【示范性职业教育集团报送平台】报送截止提醒：距离报送截止还有 7 天"
    assert "请登录平台查看详情" in _text(msg, "plain")  # no PUBLIC_URL: no link, never a wrong one
    listed = run("list", "--user", "liaoning")
    assert "报送截止提醒" in listed and "已发送（尝试 1 次）" in listed
