"""Every page of the three audiences held to WCAG 2.0 A and AA (GB/T 37668): axe-core in chromium on each page, and
by hand what axe cannot judge: errors tied to their fields, the focus on the error summary after a failed submit,
the 推荐书 web form by keyboard alone, the 汇总表 form and the report on a 375 px phone, the report on paper.

Screenshots (1280 px and 375 px) and the printed report go to ``test-artifacts/a11y-*``.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import zipfile
from email.message import EmailMessage
from email.utils import format_datetime

import pytest
from playwright.sync_api import expect

from service.actions.accounts import create_account
from service.actions.actor import Actor
from service.actions.comments import add_comment
from service.actions.intake import receive
from service.actions.notices import notify, unit_users
from service.actions.return_for_changes import return_for_changes
from service.actions.review import decide
from service.jobs.mailin import record as record_mail
from service.parse.pipeline import parse
from service.render.form import render
from service.web.errors import TITLES
from tests.support.browser import ARTIFACTS, assert_accessible, fits_the_width, focused, login, shot, tab_to
from tests.support.records import letter, letter_for
from tests.support.samples import pdf_text, sample

ON_TIME = dt.datetime(2020, 11, 20, tzinfo=dt.UTC)
LATE = dt.datetime(2020, 12, 1, tzinfo=dt.UTC)  # after the deadline of jth-2020 (2020-11-23)
PHONE = {"width": 375, "height": 800}
DESKTOP = {"width": 1280, "height": 900}
ERROR_TITLES = {title for title, _ in TITLES.values()}
STAFF = Actor("admin", "admin")
LIAONING = Actor("liaoning", "recommender", "edu-ln")


@pytest.fixture
def live_app(live_app):
    """The service with one more page, which fails as a bug would: the 500 page is a page like the others."""
    def fails():
        raise RuntimeError("a bug, on purpose")

    live_app.add_url_rule("/test-only/fails", "test_only_fails", fails)
    return live_app


@pytest.fixture
def reports(store):
    """辽宁省教育厅's submissions: a 推荐书 with a wrong mobile number, corrected, then sent once more after the
    deadline (three versions; the late one waits in the review queue), and the 汇总表."""
    def send(record_or_form, name, at, form="recommendation_letter"):
        content = render("jth-2020", form, record_or_form).content
        return receive(store, content, name, campaign_id="jth-2020", recommender_id="edu-ln", uploader="liaoning",
                       received_at=at).submission_id

    first = send(letter(contact_mobile="1390416"), "推荐书-石油化工.docx", ON_TIME)
    second = send(letter(), "推荐书-石油化工（修改）.docx", ON_TIME + dt.timedelta(days=1))
    late = send(letter(contact_title="秘书长"), "迟交的推荐书.docx", LATE)  # the third version, after the deadline
    table = send(sample("summary_table"), "推荐名单汇总表.xlsx", ON_TIME, "summary_table")
    return {"first": first, "second": second, "late": late, "table": table}


def check(page, name: str) -> None:
    """No axe violation, the page fits a phone's width when the viewport is one, and a screenshot to look at. A
    page whose name does not say it is an error page must not be one (an accessible 500 page proves little)."""
    if not name.startswith("error-"):
        heading = page.locator("main h1").first.inner_text()
        assert heading not in ERROR_TITLES, f"{name} ({page.url}) is the error page {heading}"
    assert_accessible(page, name)
    if page.viewport_size["width"] <= PHONE["width"]:
        assert fits_the_width(page), f"{name} scrolls sideways at {PHONE['width']} px"
    shot(page, f"a11y-{name}")


def signed_in_header(page, name: str) -> None:
    header = page.locator("header.top")
    expect(header).to_contain_text(name)
    expect(header.get_by_role("button", name="退出")).to_be_visible()


# ---- axe on every page -------------------------------------------------------------------------------------


def test_the_pages_for_schools_pass_axe(server, browser_page):
    page = browser_page
    for url, name in (("/", "index"), ("/campaigns/jth-2020", "campaign-jth"), ("/campaigns/ln-2018", "campaign-ln"),
                      ("/campaigns/jth-2020/forms/recommendation_letter/fill", "fill-letter"),
                      ("/campaigns/jth-2020/forms/summary_table/fill", "fill-summary-table"),
                      ("/campaigns/ln-2018/forms/work_summary/fill", "fill-work-summary"),
                      ("/login", "login")):
        page.goto(server + url)
        check(page, name)
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#error-summary")).to_be_focused()
    check(page, "login-error")
    page.goto(server + "/campaigns/jth-2020/forms/summary_table/fill")
    page.get_by_label("联系方式").fill("12345")
    page.get_by_label("推荐名单第1行成立时间").fill("2015年13月")
    page.get_by_role("button", name="生成并下载").click()
    expect(page.locator("#error-summary")).to_be_focused()
    check(page, "fill-summary-table-errors")


def test_the_pages_for_recommenders_pass_axe(server, reports, browser_page, tmp_path):
    page = browser_page
    login(page, server, "liaoning")
    for url, name in (("/r/", "recommender-dashboard"), ("/r/upload", "upload"),
                      (f"/r/submissions/{reports['first']}", "report"),
                      (f"/r/submissions/{reports['late']}", "report-late"),
                      (f"/r/submissions/{reports['table']}", "report-summary-table"),
                      (f"/r/submissions/{reports['second']}/history", "history"),
                      ("/r/campaigns/jth-2020/order", "order"), ("/account/password", "password")):
        page.goto(server + url)
        check(page, name)
    page.get_by_role("button", name="修改密码").click()
    expect(page.locator("#error-summary")).to_be_focused()
    check(page, "password-error")
    page.goto(server + "/r/upload")
    page.get_by_role("button", name="上传并校验").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.get_by_label("表格文件")).to_have_attribute("aria-invalid", "true")
    check(page, "upload-error")
    upload = tmp_path / "推荐书-装备制造.docx"
    upload.write_bytes(render("jth-2020", "recommendation_letter", letter(group_name="辽宁装备制造职业教育集团")).content)
    page.get_by_label("表格文件").set_input_files(str(upload))
    page.get_by_role("button", name="上传并校验").click()
    expect(page.get_by_text("推荐书-装备制造.docx").first).to_be_visible()
    check(page, "upload-result")


def test_one_status_badge_per_submission(server, reports, browser_page):
    page = browser_page
    login(page, server, "liaoning")
    row = page.locator("#submissions").get_by_role("row").filter(has=page.get_by_role("link", name="迟交的推荐书.docx"))
    expect(row.locator(".status")).to_have_count(1)
    expect(row.locator(".status")).to_have_text("逾期")  # not "逾期 逾期"
    page.goto(f"{server}/r/submissions/{reports['late']}")
    expect(page.locator("main .card .status")).to_have_count(1)


def test_the_pages_for_staff_pass_axe(server, reports, browser_page, tmp_path):
    page = browser_page
    login(page, server, "admin")
    for url, name in (("/admin/", "admin-dashboard"), ("/admin/review", "review"), ("/admin/exports", "exports"),
                      ("/admin/uploads", "uploads"),
                      (f"/r/submissions/{reports['late']}", "report-for-staff"), ("/admin/ingest", "ingest")):
        page.goto(server + url)
        check(page, name)
    page.get_by_role("button", name="开始导入").click()
    expect(page.locator("#error-summary")).to_be_focused()
    check(page, "ingest-error")
    bundle = tmp_path / "辽宁报送.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        for i in range(2):  # within the quota of 5, beside the 推荐书 already sent
            zf.writestr(f"推荐书{i}.docx", render("jth-2020", "recommendation_letter",
                                                letter(group_name=f"辽宁第{i}号示范职业教育集团")).content)
    page.get_by_label("报送单位").select_option("edu-ln")
    page.get_by_label("文件（zip 或多个文件）").set_input_files(str(bundle))
    page.get_by_role("button", name="开始导入").click()
    progress = page.get_by_role("progressbar", name="处理进度")
    expect(progress).to_have_attribute("aria-valuemax", "100")
    expect(page.get_by_role("status")).to_contain_text("状态：")  # the state line is announced as it changes
    check(page, "ingest-job")  # whichever state it is in now
    expect(page.locator("#job-state")).to_have_text("已完成", timeout=90_000)
    expect(progress).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#job-items")).to_contain_text("推荐书1.docx")
    check(page, "ingest-job-done")
    page.goto(server + "/admin/exports")
    section = page.locator("section", has=page.get_by_role("heading", name="第二批示范性职业教育集团（联盟）培育单位推荐"))
    section.get_by_label("报送单位").select_option("edu-ln")
    section.get_by_role("button", name="按单位生成资料汇编").click()
    expect(page.get_by_role("progressbar", name="资料汇编进度")).to_be_attached()
    expect(page.locator("#job-state")).to_have_text("已完成", timeout=120_000)
    expect(page.get_by_role("link", name="下载资料汇编 PDF")).to_be_visible()
    check(page, "compile-job-done")


# ---- the pages of the lifecycle, notices, accounts, mail and help ------------------------------------------


def check_both(page, name: str) -> None:
    """The page as it is now at 1280 px and at 375 px: axe at both widths (a table that scrolls only on a phone must
    be reachable by keyboard there too), no sideways scroll on the phone, a screenshot of each."""
    page.set_viewport_size(DESKTOP)
    check(page, f"{name}-1280")
    page.set_viewport_size(PHONE)
    check(page, f"{name}-375")
    page.set_viewport_size(DESKTOP)


def mail(sender: str, subject: str, files: list[tuple[str, bytes]], message_id: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "baosong@jth.example.cn", subject
    msg["Date"], msg["Message-ID"] = format_datetime(ON_TIME), message_id
    msg.set_content("您好，附件是报送材料，请查收。")
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


@pytest.fixture
def lifecycle(store, reports, live_app):
    """Besides ``reports`` (whose late 推荐书 waits for 批量确认): a 推荐书 returned for changes with a thread of
    comments, a late one taken in by a reviewer with a field corrected, an unreadable upload and one under the
    wrong unit, a 工作总结 of ln-08 e-mailed by its school (an account with an address, who has a notice waiting to
    be mailed), a message from a stranger waiting for its unit. ``live_app`` first: its users hear of all this."""
    def send(record, name, at, unit="edu-ln"):
        content = render("jth-2020", "recommendation_letter", record).content
        return receive(store, content, name, campaign_id="jth-2020", recommender_id=unit, uploader=unit,
                       received_at=at).submission_id

    returned = send(letter(group_name="辽宁海洋经济职业教育集团"), "推荐书-海洋经济.docx", ON_TIME)
    add_comment(store, returned, STAFF, "成员单位名单中有 3 家企业没有联系人，请补充。")
    return_for_changes(store, returned, STAFF, "请补充成员单位的联系人和联系电话，加盖推荐单位公章后重新上传。")
    add_comment(store, returned, LIAONING, "收到，本周内补充后重新上传。")
    ranked_second = sample("summary_table")["rows"][1]  # 辽宁医药卫生职业教育集团, second in the 汇总表
    decided = send(letter_for(ranked_second, "辽宁省教育厅", "省级教育行政部门"), "推荐书-医药卫生.docx", LATE)
    decide(store, decided, "#SUBMISSION_LATE", "accept", "admin", note="经职成司同意延期报送")
    decide(store, decided, "contact_mobile", "correct", "admin", value="13840016789", note="电话核实")
    add_comment(store, decided, STAFF, "已确认受理，联系人手机按电话核实的号码更正。")
    receive(store, b"%PDF-1.4 not a form", "扫描件.pdf", campaign_id="jth-2020", recommender_id="edu-ln",
            uploader="liaoning", received_at=ON_TIME)
    send(letter(group_name="辽宁冶金职业教育集团"), "错放的推荐书.docx", ON_TIME, unit="edu-tj")

    school = "office@syvtc.edu.cn"
    create_account(store, STAFF, "ln-08", "recommender", "ln-08", email=school)
    summary = render("ln-2018", "work_summary", sample("work_summary"), entity_id="ln-08").content
    ln_time = dt.datetime(2018, 6, 1, 10, tzinfo=dt.UTC)
    record_mail(store, mail(school, "工作总结", [("工作总结.docx", summary)], "<a11y-1@syvtc.edu.cn>"),
                received_at=ln_time, listed={})
    record_mail(store, mail("teacher.wang@qq.com", "推荐书", [("推荐书.docx", summary)], "<a11y-2@qq.com>"),
                received_at=ln_time, listed={})
    with store.session.begin() as s:
        notify(s, unit_users(s, "ln-08"), "reminder", "工作总结将于 6 月 5 日截止",
               "请在截止日期前上传本集团的工作总结。", campaign_id="ln-2018")
    return {**reports, "returned": returned, "decided": decided}


def test_the_pages_of_a_units_lifecycle_pass_axe(server, lifecycle, browser_page, tmp_path):
    page = browser_page
    login(page, server, "liaoning")
    page.goto(server + "/notices")
    expect(page.locator("#notices > li")).to_have_count(2)  # newest first: taken in, then returned
    expect(page.locator("#notices")).to_contain_text("被退回修改")
    check_both(page, "notices")
    for url, name in (("/help/", "help"), ("/help/units", "help-units"), ("/help/schools", "help-schools")):
        page.goto(server + url)
        check_both(page, name)
    page.goto(server + "/r/campaigns/ln-2018/overview")  # 辽宁省教育厅 supervises the 14 groups of ln-2018
    expect(page.locator("#overview")).to_contain_text("工作总结")
    check_both(page, "supervisor-overview")
    page.goto(server + "/r/campaigns/jth-2020/order")
    expect(page.locator("#letters input[type=number]")).to_have_count(3)  # the late letter and two more
    check_both(page, "order-three-letters")
    page.goto(f"{server}/r/submissions/{lifecycle['returned']}")
    expect(page.locator("#returned")).to_contain_text("请补充成员单位的联系人")
    expect(page.locator("ol.comments li")).to_have_count(2)
    check_both(page, "report-returned")
    page.goto(f"{server}/r/submissions/{lifecycle['decided']}")
    expect(page.locator("#decisions")).to_contain_text("13840016789")
    check_both(page, "report-decided")

    files = []
    for name, content in (("推荐书-新能源.docx", render("jth-2020", "recommendation_letter", letter(
            group_name="辽宁新能源职业教育集团", contact_mobile="1390416")).content),
                          ("盖章扫描件.pdf", b"%PDF-1.4 a scan, not a form")):
        files.append(tmp_path / name)
        files[-1].write_bytes(content)
    page.goto(server + "/r/upload")
    page.get_by_label("表格文件").set_input_files([str(f) for f in files])
    page.get_by_role("button", name="上传并校验").click()
    expect(page.get_by_role("heading", name="上传结果")).to_be_visible()
    expect(page.locator("#results article")).to_have_count(2)
    assert "/r/uploads?u=" in page.url
    check_both(page, "upload-results")


def test_the_pages_of_staff_for_the_lifecycle_accounts_and_mail_pass_axe(server, lifecycle, store, browser_page):
    page = browser_page
    login(page, server, "admin")
    page.goto(server + "/admin/accounts/")
    check_both(page, "accounts")
    page.get_by_label("用户名（必填）").fill("ln-03")
    page.get_by_label("所代表的单位（推荐单位 / 报送单位账号必填）").select_option("ln-03")
    page.get_by_role("button", name="新建并生成一次性密码").click()
    expect(page.locator("#issued code.password")).to_have_count(1)
    check_both(page, "accounts-issued")
    page.goto(server + "/admin/settings")
    expect(page.locator("#sends")).to_contain_text("office@syvtc.edu.cn")
    check_both(page, "settings")
    page.goto(server + "/admin/mail/")
    expect(page.locator("#messages tr[id^=mail-]")).to_have_count(2)
    expect(page.get_by_role("button", name="指定单位并收取附件")).to_have_count(1)
    check_both(page, "mail")
    page.goto(server + "/admin/uploads")
    expect(page.locator("#uploads")).to_contain_text("扫描件.pdf")
    expect(page.locator("#uploads")).to_contain_text("错放的推荐书.docx")
    check_both(page, "uploads-for-no-one")
    page.goto(server + "/help/staff")
    check_both(page, "help-staff")
    page.goto(f"{server}/r/submissions/{lifecycle['decided']}")
    block = page.locator("#lifecycle")
    for label in ("退回修改", "撤回", "改派"):
        expect(block.get_by_role("button", name=label, exact=True)).to_be_visible()
    check_both(page, "report-for-staff-lifecycle")
    form = block.locator("form:has(button[data-action=return])")
    form.get_by_label("退回说明（必填，推荐单位可见）").fill("   ")  # passes the browser's check, not the service's
    form.get_by_role("button", name="退回修改").click()
    expect(page.get_by_role("alert")).to_contain_text("未能完成")  # an error, not a green "done"
    expect(page.locator("#status")).to_have_text("通过")
    check_both(page, "report-return-refused")
    page.goto(f"{server}/r/submissions/{lifecycle['returned']}")
    expect(page.locator("#returned")).to_be_visible()
    check_both(page, "report-returned-for-staff")
    page.goto(server + "/admin/review")
    expect(page.locator("#bulk")).to_contain_text("逾期")
    check_both(page, "review-bulk")


def test_error_pages_pass_axe_and_keep_the_signed_in_header(server, browser_page):
    page = browser_page
    page.goto(server + "/campaigns/nope")
    expect(page.get_by_role("heading", name="页面不存在")).to_be_visible()
    expect(page.locator("header.top").get_by_role("link", name="登录")).to_be_visible()
    check(page, "error-404-signed-out")
    login(page, server, "liaoning")
    for url, title, name in (("/campaigns/nope", "页面不存在", "error-404"), ("/admin/", "没有权限", "error-403"),
                             ("/test-only/fails", "服务器内部错误", "error-500")):
        page.goto(server + url)
        expect(page.get_by_role("heading", name=title)).to_be_visible()
        signed_in_header(page, "辽宁省教育厅")
        check(page, name)
    # Over the size limit the body is refused while the form is read, before the request's own hooks have run.
    page.goto(server + "/r/upload")
    page.get_by_label("表格文件").set_input_files(
        {"name": "扫描件.docx", "mimeType": "application/octet-stream", "buffer": b"0" * (21 * 1024 * 1024)})
    page.get_by_role("button", name="上传并校验").click()
    expect(page.get_by_role("heading", name="文件过大")).to_be_visible()
    signed_in_header(page, "辽宁省教育厅")
    check(page, "error-413")


def test_the_form_designer_pages_pass_axe(server, live_app, browser_page, tmp_path):
    """The designer from an upload to a preview, at both widths; a mistake in the upload and in the fields each
    put the focus on the error summary, the box marked invalid."""
    live_app.config["FORMS_DATA"] = str(tmp_path / "forms-data")  # previews are tried beside it, not in instance/
    upload = tmp_path / "工作总结.docx"
    upload.write_bytes(render("ln-2018", "work_summary").content)
    page = browser_page
    login(page, server, "admin")
    page.goto(server + "/admin/designer/")
    check_both(page, "designer-index")
    page.get_by_role("button", name="上传并生成字段").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.get_by_label("表单编号")).to_have_attribute("aria-invalid", "true")
    check(page, "designer-upload-error")
    page.get_by_label("征集活动").select_option("ln-2018")
    page.get_by_label("表单编号").fill("summary_copy")
    page.get_by_label("表格文件（.docx 或 .xlsx）").set_input_files(str(upload))
    page.get_by_role("button", name="上传并生成字段").click()
    expect(page.get_by_role("img", name="上传的表格《省级示范性职业教育集团办学工作总结》第 1 页")).to_be_visible()
    check_both(page, "designer-edit")
    page.get_by_label("第1项 集团名称：字段名").fill("集团")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.get_by_label("第1项 集团名称：字段名")).to_have_attribute("aria-invalid", "true")
    check(page, "designer-edit-error")
    page.get_by_label("第1项 集团名称：字段名").fill("group_name")
    page.get_by_role("button", name="保存并预览").click()
    expect(page.locator("#preview-summary")).to_contain_text("个字段读回一致")
    check_both(page, "designer-preview")


# ---- the web form by keyboard ------------------------------------------------------------------------------


def type_into(page, selector: str, text: str) -> None:
    """Tab to the box and enter the text as an input method does (Chinese is typed through one)."""
    tab_to(page, selector)
    page.keyboard.insert_text(text)


def choose(page, name: str, option: str) -> None:
    """Tab into a radio group and move to ``option`` with the arrow keys (Space checks the first one)."""
    tab_to(page, f"input[type=radio][name='{name}']")
    page.keyboard.press("Space")
    for _ in range(6):
        if page.evaluate("n => document.activeElement.value", name) == option:
            return
        page.keyboard.press("ArrowRight")
    raise AssertionError(f"no option {option} in {name}")


def test_the_recommendation_letter_by_keyboard_alone(server, browser_page, tmp_path):
    page = browser_page
    record = sample("recommendation_letter")
    page.goto(f"{server}/campaigns/jth-2020/forms/recommendation_letter/fill")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "跳到正文"
    page.keyboard.press("Enter")
    assert focused(page) == "main"
    type_into(page, "#f-group_name", record["group_name"])
    tab_to(page, "#f-lead_units")
    page.keyboard.insert_text(record["lead_units"][0])
    page.keyboard.press("Enter")  # a new line in a text area, not a submit
    page.keyboard.insert_text(record["lead_units"][1])
    type_into(page, "#f-founded", "2012年5月")
    type_into(page, "#f-recommender", record["recommender"])
    choose(page, "recommender_type", record["recommender_type"])
    type_into(page, "#f-service_orientation", record["service_orientation"])
    choose(page, "legal_person", "否")
    choose(page, "operation_mode", record["operation_mode"])
    for key in ("members_school", "members_enterprise", "members_industry", "members_research", "members_other",
                "members_total", "contact_name"):
        type_into(page, f"#f-{key}", str(record[key]))
    for key in ("contact_phone", "contact_mobile", "contact_email"):
        type_into(page, f"#f-{key}", record[key])
    for key in ("governance", "resource_sharing", "industry_education", "talent_quality", "social_service",
                "government_support", "features"):
        type_into(page, f"#f-{key}", record[key])
    type_into(page, "#f-members-0-name", record["members"][0]["name"])
    tab_to(page, "#f-members-0-type")
    page.keyboard.press("ArrowDown")  # a closed list steps to its next option: 学校
    expect(page.locator("#f-members-0-type")).to_have_value("学校")
    tab_to(page, "button[data-add-row='members']")
    shot(page, "a11y-keyboard-before-new-row")
    page.keyboard.press("Space")
    expect(page.locator("#rows-members tbody tr")).to_have_count(11)
    assert focused(page) == "f-members-10-name"  # the new row's first box
    expect(page.get_by_role("status")).to_have_text("已增加第11行。")
    page.keyboard.insert_text(record["members"][1]["name"])
    page.keyboard.press("Tab")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#f-members-10-type")).to_have_value("企业")
    page.keyboard.press("Shift+Tab")  # and back, to check the name just typed
    assert focused(page) == "f-members-10-name"
    expect(page.locator("#f-members-10-name")).to_have_value(record["members"][1]["name"])
    shot(page, "a11y-keyboard-filled")
    tab_to(page, "form.fill .actions button")
    with page.expect_download() as info:
        page.keyboard.press("Enter")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.endswith(f"{record['group_name']}.docx")
    got = parse(path.read_bytes(), path.name).record
    assert got["founded"] == "2012-05" and got["legal_person"] == "否" and got["lead_units"] == record["lead_units"]
    assert got["members"] == record["members"][:2] and got["contact_email"] == record["contact_email"]


def test_enter_in_a_text_box_submits_and_the_focus_lands_on_the_error_summary(server, browser_page):
    page = browser_page
    page.goto(f"{server}/campaigns/jth-2020/forms/recommendation_letter/fill")
    type_into(page, "#f-founded", "2012年13月")
    type_into(page, "#f-contact_mobile", "1390416")
    type_into(page, "#f-members-0-name", "辽宁石化职业技术学院")
    page.keyboard.press("Enter")  # submits the form; never 增加一行
    expect(page.locator("#error-summary")).to_be_focused()
    expect(page.locator("#rows-members tbody tr")).to_have_count(10)
    assert page.title().startswith("有错误：")
    expect(page.locator("#f-contact_mobile")).to_have_value("1390416")  # kept as typed, to be corrected
    links = page.locator("#error-summary a")
    targets = [links.nth(i).get_attribute("href")[1:] for i in range(links.count())]
    assert {"f-founded", "f-contact_mobile"} <= set(targets), targets
    shot(page, "a11y-errors-1280")
    for i, target in enumerate(targets):
        page.locator("#error-summary").focus()
        tab_to(page, f"#error-summary a[href='#{target}']")
        page.keyboard.press("Enter")
        assert focused(page) == target, f"link {i} to #{target} left the focus on #{focused(page)}"
        field = page.locator(f"#{target}")
        expect(field).to_have_attribute("aria-invalid", "true")
        described = field.get_attribute("aria-describedby").split()
        assert f"{target}-error" in described
        message = links.nth(i).inner_text().split("：", 1)[-1]
        expect(page.locator(f"#{target}-error")).to_contain_text(message[:12])
    page.set_viewport_size(PHONE)
    assert fits_the_width(page)
    shot(page, "a11y-errors-375")


def test_without_javascript_enter_still_submits_and_a_new_row_takes_the_focus(server, browser_page):
    context = browser_page.context.browser.new_context(locale="zh-CN", viewport=DESKTOP, java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{server}/campaigns/jth-2020/forms/recommendation_letter/fill")
    type_into(page, "#f-contact_mobile", "1390416")
    page.keyboard.press("Enter")  # the hidden default button comes first: never 增加一行
    expect(page.locator("#error-summary")).to_be_focused()  # by its autofocus attribute
    expect(page.locator("#rows-members tbody tr")).to_have_count(10)
    tab_to(page, "button[data-add-row='members']")
    page.keyboard.press("Enter")  # without JavaScript the page comes back with one more row …
    expect(page.locator("#rows-members tbody tr")).to_have_count(11)
    expect(page.locator("#f-members-10-name")).to_be_focused()  # … and the focus in it
    expect(page.locator("#error-summary")).to_have_count(0)  # adding a row is not a failed submit
    expect(page.locator("#f-contact_mobile")).to_have_value("1390416")
    context.close()


def test_each_required_field_says_so_in_words_and_every_label_names_its_box(server, browser_page):
    page = browser_page
    for form in ("jth-2020/forms/recommendation_letter", "jth-2020/forms/summary_table", "ln-2018/forms/work_summary"):
        page.goto(f"{server}/campaigns/{form}/fill")
        unnamed = page.evaluate("""[...document.querySelectorAll('label')].filter(l => !l.htmlFor
            || !document.getElementById(l.htmlFor)).map(l => l.outerHTML)""")
        assert not unnamed, unnamed
        required = page.locator("#field-group_name, #field-recommender").first
        expect(required.locator("label, legend").first).to_contain_text("（必填）")
        expect(required.locator("input, textarea").first).to_have_attribute("required", "")
        groups = page.locator("input[type=radio]").evaluate_all(
            "rs => rs.map(r => r.closest('fieldset') && r.closest('fieldset').querySelector('legend').textContent)")
        assert all(groups), groups
        adders = page.locator("button[data-add-row]").evaluate_all("bs => bs.map(b => b.type)")
        assert adders and set(adders) == {"button"}, adders


# ---- phones and paper --------------------------------------------------------------------------------------


def test_the_summary_table_form_and_the_report_on_a_phone(server, reports, browser_page):
    page = browser_page
    page.set_viewport_size(PHONE)
    page.goto(f"{server}/campaigns/jth-2020/forms/summary_table/fill")
    name = page.get_by_label("推荐名单第1行集团名称")
    expect(name).to_be_visible()
    assert name.bounding_box()["width"] > 250  # a row's boxes one under the other, each as wide as the phone
    name.fill("辽宁石油化工职业教育集团")
    check(page, "phone-fill-summary-table")
    login(page, server, "liaoning")
    page.goto(f"{server}/r/submissions/{reports['first']}")
    problems = page.locator("#problems td")
    expect(problems.first).to_be_visible()
    widths = problems.evaluate_all("tds => tds.map(td => td.getBoundingClientRect().width).filter(w => w > 0)")
    narrowest = min(widths)
    assert narrowest > 250, f"a column of the report is {narrowest:.0f} px wide on a phone"
    check(page, "phone-report")
    for url, name in (("/campaigns/jth-2020", "phone-campaign"), ("/r/", "phone-recommender-dashboard"),
                      ("/r/upload", "phone-upload"),
                      (f"/r/submissions/{reports['second']}/history", "phone-history")):
        page.goto(server + url)
        check(page, name)


def test_the_report_prints_without_the_navigation(server, reports, browser_page):
    page = browser_page
    login(page, server, "liaoning")
    page.goto(f"{server}/r/submissions/{reports['first']}")
    page.emulate_media(media="print")
    expect(page.locator("header.top")).to_be_hidden()
    expect(page.locator("#problems")).to_be_visible()
    width = page.evaluate("document.querySelector('main').getBoundingClientRect().width")
    assert width >= DESKTOP["width"] - 2, width
    pdf = ARTIFACTS / "a11y-report-print.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    text = pdf_text(pdf)
    assert "问题与修改说明" in text and "联系人手机" in text
    assert "本单位报送" not in text and "退出" not in text  # the navigation and the header stay on screen
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / "a11y-report-print")],
                   check=True)
