"""Accounts and roles as the ministry's staff and the units meet them, in a real browser: all 52 recommenders'
accounts made in one step with a sheet to hand out; a unit's first sign-in forced through a password change; the
辽宁省教育厅 reading its 14 groups' status without being able to send anything for them."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
from playwright.sync_api import expect

from service.actions.intake import receive
from service.render.form import render
from service.store.auth import create_user
from service.store.models import User
from tests.support.browser import PASSWORD, login, shot
from tests.support.samples import sample


def test_the_staff_make_every_recommenders_account_and_a_unit_must_change_its_password(server, browser_page, store):
    page = browser_page
    login(page, server, "admin")
    page.goto(f"{server}/admin/accounts/")
    page.select_option("#bulk-campaign", "jth-2020")
    with page.expect_download() as download:
        page.get_by_role("button", name="建账号并下载表格").click()
    sheet = openpyxl.load_workbook(io.BytesIO(download.value.path().read_bytes())).active
    rows = [r for r in sheet.iter_rows(min_row=4, values_only=True) if r[0]]
    # 52 on the list; 辽宁省教育厅 already had its account (the fixture's "liaoning"), so it gets none.
    assert len(rows) == 51 and "edu-ln" not in {r[2] for r in rows}
    assert "只在创建账号时生成一次" in sheet["A2"].value
    beijing = next(r for r in rows if r[1] == "北京市教育委员会")
    page.goto(f"{server}/admin/accounts/")
    expect(page.locator("#account-edu-bj")).to_contain_text("待首次登录改密")
    shot(page, "accounts-list")
    page.get_by_role("button", name="退出").click()

    # The unit signs in with the one-time password and can do nothing before choosing its own.
    page.goto(f"{server}/login")
    page.get_by_label("用户名").fill(beijing[2])
    page.get_by_label("密码").fill(beijing[3])
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{server}/account/password")
    page.goto(f"{server}/r/upload")
    expect(page).to_have_url(f"{server}/account/password")
    expect(page.locator("body")).to_contain_text("一次性密码")
    shot(page, "accounts-first-sign-in")
    page.locator("#current").fill(beijing[3])
    page.locator("#new").fill("北京职成处-新密码-2020")
    page.locator("#confirm").fill("北京职成处-新密码-2020")
    page.get_by_role("button", name="修改密码").click()
    expect(page.locator("body")).to_contain_text("密码已修改")
    page.goto(f"{server}/r/upload")
    expect(page).to_have_url(f"{server}/r/upload")
    with store.session() as s:
        assert not s.query(User).filter_by(username="edu-bj").one().must_change_password


def test_the_provincial_department_reads_its_groups_and_cannot_send_for_them(server, browser_page, store):
    with store.session.begin() as s:
        create_user(s, "ln-08", PASSWORD, "recommender", "ln-08", "辽宁冶金职业技术学院")
    summary = render("ln-2018", "work_summary", sample("work_summary"), entity_id="ln-08").content
    got = receive(store, summary, "工作总结.docx", campaign_id="ln-2018", recommender_id="ln-08", uploader="ln-08",
                  received_at=dt.datetime(2018, 6, 1, tzinfo=dt.UTC))
    page = browser_page
    login(page, server, "liaoning")  # 辽宁省教育厅: a 推荐单位 of jth-2020, the supervisor of ln-2018
    expect(page.locator(".who")).to_contain_text("主管部门")
    page.get_by_role("link", name="各报送单位的报送情况").click()
    rows = page.locator("#overview tr:has(th[scope=row])")
    expect(rows).to_have_count(14)
    expect(page.locator("#overview")).to_contain_text("工作总结")
    shot(page, "supervisor-overview")
    page.locator("#overview a").first.click()
    expect(page).to_have_url(f"{server}/r/submissions/{got.submission_id}")
    expect(page.locator("body")).to_contain_text("报送单位")  # the Liaoning wording, not 推荐单位
    expect(page.locator("#lifecycle")).to_have_count(0)  # nothing to withdraw or return
    expect(page.locator("form[action$='/attachments']")).to_have_count(0)
    expect(page.get_by_role("link", name="重新提交")).to_have_count(0)
    # Changing anything is refused on the server too, not only hidden.
    token = page.locator("input[name=csrf_token]").first.get_attribute("value")  # the sign-out form's
    response = page.request.post(f"{server}/r/submissions/{got.submission_id}/state",
                                 form={"action": "withdraw", "note": "x", "csrf_token": token})
    assert response.status == 404
    upload = page.request.post(f"{server}/r/upload", multipart={
        "campaign": "ln-2018", "csrf_token": token,
        "files": {"name": "工作总结.docx", "mimeType": "application/octet-stream", "buffer": summary}})
    assert upload.status == 403
    with store.session() as s:
        from service.store.models import Submission

        assert s.query(Submission).count() == 1
