"""The three audiences in a real browser (Debian's chromium driven by Playwright) against the running service.

Screenshots go to ``test-artifacts/`` for a person to look at.
"""

from __future__ import annotations

import zipfile

from playwright.sync_api import expect

from service.parse.pipeline import parse
from service.render.form import render
from tests.support.browser import login, shot
from tests.support.records import letter
from tests.support.samples import sample


def test_school_fills_the_web_form_and_downloads_the_recommendation_letter(server, browser_page, tmp_path):
    page = browser_page
    page.goto(f"{server}/campaigns/jth-2020")
    expect(page.get_by_role("heading", name="第二批示范性职业教育集团（联盟）培育单位推荐")).to_be_visible()
    assert page.evaluate("document.fonts.check('16px \"Noto Sans CJK SC\"', '示范性职业教育集团推荐书')")
    shot(page, "01-campaign")
    page.get_by_role("link", name="在线填写").first.click()
    page.get_by_label("集团名称（必填）", exact=True).fill("辽宁石油化工职业教育集团")
    page.get_by_label("牵头单位（必填）", exact=True).fill("辽宁石化职业技术学院\n中国石油抚顺石化公司")
    page.get_by_label("成立时间（必填）", exact=True).fill("2012年5月")
    page.locator("#field-legal_person").get_by_label("否").check()
    page.get_by_label("联系人手机").fill("1390416")  # a mistake first
    page.get_by_role("button", name="生成并下载").click()
    expect(page.locator("#field-contact_mobile .field-error")).to_contain_text("格式不正确")
    shot(page, "02-web-form-error")
    page.get_by_label("联系人手机").fill("13904161234")
    page.locator('input[name="members-0-name"]').fill("辽宁石化职业技术学院")
    page.locator('select[name="members-0-type"]').select_option("学校")
    with page.expect_download() as info:
        page.get_by_role("button", name="生成并下载").click()
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    assert path.name.endswith("辽宁石油化工职业教育集团.docx")
    record = parse(path.read_bytes(), path.name).record
    assert record["founded"] == "2012-05" and record["legal_person"] == "否"
    assert record["lead_units"] == ["辽宁石化职业技术学院", "中国石油抚顺石化公司"]
    assert record["members"] == [{"name": "辽宁石化职业技术学院", "type": "学校"}]


def test_province_uploads_and_sees_the_report_and_its_quota(server, browser_page, tmp_path):
    page = browser_page
    login(page, server, "liaoning")
    expect(page.get_by_role("heading", name="辽宁省教育厅 · 报送情况")).to_be_visible()
    table = tmp_path / "推荐名单汇总表.xlsx"
    table.write_bytes(render("jth-2020", "summary_table", sample("summary_table")).content)
    first = tmp_path / "推荐书-石油化工.docx"
    first.write_bytes(render("jth-2020", "recommendation_letter", letter(contact_mobile="1390416")).content)
    page.get_by_role("link", name="上传材料").first.click()
    page.get_by_label("表格文件").set_input_files([str(table), str(first)])
    page.get_by_role("button", name="上传并校验").click()
    results = page.locator("#results")
    expect(results).to_contain_text("推荐名单汇总表.xlsx")
    expect(results).to_contain_text("推荐书-石油化工.docx")
    shot(page, "03-upload-results")
    results.get_by_role("link", name="查看校验报告").nth(1).click()
    expect(page.locator("#problems")).to_contain_text("联系人手机")
    expect(page.locator("#problems")).to_contain_text("第4个表格第2行第4格")
    shot(page, "04-report")
    page.get_by_role("link", name="本单位报送").click()
    expect(page.locator("#quota")).to_contain_text("1/5")
    expect(page.locator("#ranked")).to_contain_text("未提交推荐书")
    shot(page, "05-recommender-dashboard")


def test_admin_bulk_ingest_progress_bar_reaches_the_end(server, browser_page, tmp_path):
    page = browser_page
    login(page, server, "admin")
    bundle = tmp_path / "辽宁报送.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        for i in range(24):
            zf.writestr(f"推荐书{i:02d}.docx", render("jth-2020", "recommendation_letter",
                                                    letter(group_name=f"辽宁第{i}号示范职业教育集团")).content)
        zf.writestr("../越界.docx", b"PK\x03\x04")
        zf.writestr("汇总表.xlsx", render("jth-2020", "summary_table", sample("summary_table")).content)
    page.get_by_role("link", name="批量导入").click()
    page.get_by_label("报送单位").select_option("edu-ln")
    page.get_by_label("文件（zip 或多个文件）").set_input_files(str(bundle))
    page.get_by_role("button", name="开始导入").click()
    expect(page.get_by_role("heading", name="导入任务")).to_be_visible()
    shot(page, "06-ingest-running")
    expect(page.locator("#job-state")).to_have_text("已完成", timeout=90_000)
    expect(page.locator("#job-progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#job-items")).to_contain_text("ZIP_UNSAFE_PATH")
    shot(page, "07-ingest-done")
    page.get_by_role("link", name="报送情况").click()
    expect(page.locator("#chart svg")).to_be_visible()
    expect(page.locator("#status-table")).to_contain_text("辽宁省教育厅")
    shot(page, "08-admin-dashboard")


def test_admin_compiles_one_recommender_and_downloads_the_pdf(server, store, browser_page, tmp_path):
    import datetime as dt

    from service.actions.intake import receive

    receive(store, render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content, "推荐书.docx",
            campaign_id="jth-2020", recommender_id="edu-ln", uploader="liaoning",
            received_at=dt.datetime(2020, 11, 20, tzinfo=dt.UTC))
    page = browser_page
    login(page, server, "admin")
    page.get_by_role("link", name="导出与汇编").click()
    section = page.locator("section", has=page.get_by_role("heading", name="第二批示范性职业教育集团（联盟）培育单位推荐"))
    section.get_by_label("报送单位").select_option("edu-ln")
    section.get_by_role("button", name="按单位生成资料汇编").click()
    expect(page.get_by_role("heading", name="资料汇编任务")).to_be_visible()
    expect(page.locator("#job-state")).to_have_text("已完成", timeout=90_000)
    expect(page.locator("#job-progress")).to_have_attribute("aria-valuenow", "100")
    shot(page, "09-compile-done")
    with page.expect_download() as info:
        page.get_by_role("link", name="下载资料汇编 PDF").click()
    download = info.value
    assert download.suggested_filename == "jth-2020-资料汇编-edu-ln.pdf"
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert target.read_bytes().startswith(b"%PDF")
    page.get_by_role("link", name="导出与汇编").click()
    expect(page.locator("#compilations")).to_contain_text("已完成")
    shot(page, "10-exports")
