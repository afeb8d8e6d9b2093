"""Notices as people get them, in a real browser with a real SMTP server on loopback (aiosmtpd): a reviewer returns
a file and the unit both sees the notice and receives the e-mail; the reminder job writes to exactly the units whose
forms are missing."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from service import create_app
from service.actions.accounts import create_campaign_accounts
from service.actions.actor import Actor
from service.actions.intake import receive
from service.jobs.mail import sender_for
from service.render.form import render
from service.store.auth import create_user
from service.store.models import Notice, User
from tests.support.browser import PASSWORD, login, shot
from tests.support.samples import sample
from tests.support.smtp import Inbox

PUBLIC_URL = "https://jth.example.cn"


@pytest.fixture
def live_app(store, smtp):
    """The service with its mail server configured (the conftest's users, 辽宁 with an address)."""
    with store.session.begin() as s:
        create_user(s, "liaoning", PASSWORD, "recommender", "edu-ln", "辽宁省教育厅").email = "zcc@ln.example.cn"
        create_user(s, "admin", PASSWORD, "admin", None, "平台管理员")
    app = create_app({"SECRET_KEY": "browser-test", "DATABASE_URL": store.url, "FILE_STORE": str(store.files.root),
                      "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_FROM": "noreply@jth.example.cn",
                      "PUBLIC_URL": PUBLIC_URL})
    app.extensions["jth_store"] = store
    return app


def _wait_for(inbox: Inbox, count: int) -> None:
    for _ in range(100):
        if len(inbox.received) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"{len(inbox.received)} messages received, {count} expected")


def test_a_returned_file_is_a_notice_in_the_app_and_an_email(server, browser_page, store, live_app, inbox):
    got = receive(store, render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content,
                  "推荐书.docx", campaign_id="jth-2020", recommender_id="edu-ln", uploader="liaoning",
                  received_at=dt.datetime(2020, 11, 20, tzinfo=dt.UTC))
    sender = sender_for(live_app)  # the background sender, as the running service has it
    sender.interval = 0.2
    sender.start()
    try:
        _return_and_read(server, browser_page, got, inbox)
    finally:
        sender.stop()  # it must not outlive this test's database (on PostgreSQL the next test reuses it)


def _return_and_read(server, browser_page, got, inbox) -> None:
    page = browser_page
    login(page, server, "admin")
    page.goto(f"{server}/r/submissions/{got.submission_id}")
    form = page.locator("form:has(button[data-action=return])")
    form.locator("input[name=note]").fill("请补充成员单位名单中企业的统一社会信用代码。")
    form.locator("button[data-action=return]").click()
    expect(page.locator("#status")).to_have_text("退回修改")
    page.get_by_role("button", name="退出").click()

    _wait_for(inbox, 1)
    recipients, message = inbox.received[0]
    assert recipients == ["zcc@ln.example.cn"]
    assert "退回修改" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "请补充成员单位名单中企业的统一社会信用代码。" in text
    assert f"{PUBLIC_URL}/r/submissions/{got.submission_id}" in text

    login(page, server, "liaoning")
    expect(page.locator("header")).to_contain_text("通知（1）")
    page.get_by_role("link", name="通知（1）").click()
    expect(page.locator("main")).to_contain_text("请补充成员单位名单中企业的统一社会信用代码。")
    shot(page, "notices-returned")
    page.goto(f"{server}/r/submissions/{got.submission_id}")
    expect(page.locator("#returned")).to_contain_text("请补充成员单位名单中企业的统一社会信用代码。")


def test_the_reminder_job_writes_to_exactly_the_units_with_missing_forms(server, browser_page, store, live_app):
    issued = create_campaign_accounts(store, Actor("admin", "admin"), "ln-2018")
    assert len(issued) == 14
    summary = render("ln-2018", "work_summary", sample("work_summary"), entity_id="ln-08").content
    receive(store, summary, "工作总结.docx", campaign_id="ln-2018", recommender_id="ln-08", uploader="ln-08",
            received_at=dt.datetime(2018, 6, 1, tzinfo=dt.UTC))
    result = live_app.test_cli_runner().invoke(args=["notices", "remind", "--today", "2018-06-02"])
    assert result.exit_code == 0, result.output
    with store.session() as s:
        told = set(s.scalars(select(User.entity_id).join(Notice, Notice.user_id == User.id)
                             .where(Notice.kind == "reminder")))
    assert told == {i.entity_id for i in issued} - {"ln-08"}  # the 13 without their 工作总结, not ln-08
    again = live_app.test_cli_runner().invoke(args=["notices", "remind", "--today", "2018-06-02"])
    assert again.exit_code == 0
    with store.session() as s:
        assert s.query(Notice).filter_by(kind="reminder").count() == 13  # once only

    # A unit that was reminded reads it after its first sign-in.
    other = next(i for i in issued if i.entity_id == "ln-01")
    page = browser_page
    page.goto(f"{server}/login")
    page.get_by_label("用户名").fill(other.username)
    page.get_by_label("密码").fill(other.password)
    page.get_by_role("button", name="登录").click()
    page.locator("#current").fill(other.password)
    page.locator("#new").fill("牵头学校-新的密码-2018")
    page.locator("#confirm").fill("牵头学校-新的密码-2018")
    page.get_by_role("button", name="修改密码").click()
    page.goto(f"{server}/notices")
    expect(page.locator("main")).to_contain_text("报送截止提醒")
    expect(page.locator("main")).to_contain_text("工作总结")
