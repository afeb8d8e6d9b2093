"""The form designer in a real browser: from a plain Word form, uploaded by staff, to a published form that a school
fills on the web.

An administrator uploads a document made by LibreOffice (labels beside blanks, no content controls), sees the
proposed fields beside a picture of the page, edits a title and a type, saves, previews (a rendered copy read back
field by field) and publishes into a campaign; a visitor then opens the new form's web page, fills it in and
downloads the document, which the platform reads back. Screenshots go to ``test-artifacts/designer-*``.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from playwright.sync_api import expect

from service import create_app
from service.forms.catalog import catalog
from service.office.convert.client import shutdown_converter
from service.parse.pipeline import parse
from service.store.auth import create_user
from tests.support.browser import ARTIFACTS, PASSWORD, assert_accessible, login, shot
from tests.support.samples import FONTS_CONF

FORM_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>校企合作项目申报表</title></head><body>
<p align="center"><b><font size="5">校企合作项目申报表</font></b></p>
<table border="1" cellspacing="0" cellpadding="6" width="640">
<col width="130"><col width="190"><col width="130"><col width="190">
<tr><td>单位名称</td><td colspan="3"></td></tr>
<tr><td>联系人</td><td></td><td>手机</td><td></td></tr>
<tr><td>项目级别</td><td></td><td>合作企业数</td><td></td></tr>
<tr><td>是否独立法人</td><td>□是　□否</td><td>申报日期</td><td></td></tr>
</table>
<p>项目团队</p>
<table border="1" cellspacing="0" cellpadding="6" width="640">
<tr><td>序号</td><td>姓名</td><td>职务</td></tr>
<tr><td>1</td><td></td><td></td></tr>
<tr><td>2</td><td></td><td></td></tr>
</table>
</body></html>"""


@pytest.fixture(scope="module")
def word_form(tmp_path_factory, lo_profile):
    """The form as an operator makes it: a web page saved as Word by LibreOffice."""
    folder = tmp_path_factory.mktemp("designer-form")
    source = folder / "校企合作项目申报表.html"
    source.write_text(FORM_HTML, encoding="utf-8")
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={lo_profile.as_uri()}",
                    "--infilter=HTML (StarWriter)", "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(folder),
                    str(source)], check=True, capture_output=True, timeout=300,
                   env=dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF)))
    yield folder / "校企合作项目申报表.docx"
    shutdown_converter()  # the pictures of the pages started the process-wide one


@pytest.fixture
def live_app(store, tmp_path):
    """The service with an administrator, publishing into an instance layer of its own."""
    with store.session.begin() as s:
        create_user(s, "admin", PASSWORD, "admin", None, "平台管理员")
    app = create_app({"SECRET_KEY": "browser-test", "DATABASE_URL": store.url, "FILE_STORE": str(store.files.root),
                      "FORMS_DATA": str(tmp_path / "instance" / "forms-data")})
    app.extensions["jth_store"] = store
    return app


@pytest.fixture(autouse=True)
def _shipped_data_after():
    """The apps made here lay their own instance folder over the process-wide catalogue: lift it afterwards."""
    yield
    catalog.use_layer(None)


def test_staff_design_and_publish_a_form_that_a_school_fills_on_the_web(server, browser_page, word_form):
    page = browser_page
    login(page, server, "admin")
    page.get_by_role("link", name="表单设计器").click()
    expect(page.get_by_role("heading", name="表单设计器", exact=True)).to_be_visible()
    page.get_by_label("征集活动").select_option("ln-2018")
    page.get_by_label("表单编号").fill("coop_apply")
    page.get_by_label("表格文件（.docx 或 .xlsx）").set_input_files(str(word_form))
    page.get_by_role("button", name="上传并生成字段").click()

    # The proposed fields beside a picture of the page.
    expect(page.get_by_role("heading", name="设计表单《校企合作项目申报表》")).to_be_visible()
    picture = page.get_by_role("img", name="上传的表格《校企合作项目申报表》第 1 页")
    expect(picture).to_be_visible()
    assert picture.evaluate("img => img.naturalWidth") > 400
    fields = page.locator("#fields")
    for label in ("单位名称", "联系人", "手机", "项目级别", "合作企业数", "是否独立法人", "申报日期"):
        expect(fields.get_by_role("rowheader", name=label)).to_be_visible()
    expect(page.get_by_label("第5项 合作企业数：类型")).to_have_value("integer")
    expect(page.get_by_label("第6项 是否独立法人：类型")).to_have_value("yesno")
    expect(page.get_by_role("group", name="表格：项目团队（可逐行填写）")).to_be_visible()
    assert_accessible(page, "designer-edit")
    shot(page, "designer-1-proposed")

    # Edit: an English key and another title for 单位名称, 项目级别 a choice, the contact not required.
    page.get_by_label("第1项 单位名称：字段名").fill("unit_name")
    page.get_by_label("第1项 单位名称：标题").fill("申报单位全称")
    page.get_by_label("第4项 项目级别：类型").select_option("choice")
    page.get_by_label("第2项 联系人：必填").uncheck()
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#error-summary")).to_be_focused()  # a choice needs its options
    expect(page.locator("#error-summary")).to_contain_text("至少要有两个不同的选项")
    expect(page.get_by_label("第4项 项目级别：选项")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("第1项 单位名称：标题")).to_have_value("申报单位全称")  # what was typed stays
    shot(page, "designer-2-mistake")
    page.get_by_label("第4项 项目级别：选项").fill("国家级\n省级\n市级")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_role("status").filter(has_text="草稿已保存")).to_be_visible()
    expect(page.get_by_label("第1项 单位名称：标题")).to_have_value("申报单位全称")
    expect(page.locator("pre.schema")).to_contain_text('"x-label": "单位名称"')

    # Preview: a copy rendered with sample values, read back field by field.
    page.get_by_role("button", name="保存并预览").click()
    summary = page.locator("#preview-summary")
    expect(summary).to_contain_text("个字段读回一致")
    found, total = summary.locator("strong").inner_text().split(" / ")
    assert found == total and int(total) >= 9
    expect(page.locator("#preview-fields")).not_to_contain_text("未读出")
    with page.expect_download() as copy:
        page.get_by_role("link", name="下载预填的样例表格").click()
    assert copy.value.suggested_filename.endswith(".docx")
    shot(page, "designer-3-preview")

    # Publish into 辽宁 2018.
    page.get_by_role("button", name="发布到征集活动").click()
    expect(page.get_by_role("status").filter(has_text="已发布《校企合作项目申报表》（1.0.0 版）")).to_be_visible()
    expect(page.locator("#draft-state")).to_contain_text("已发布")
    shot(page, "designer-4-published")

    # A school, not signed in, finds the form on the campaign's page and fills it on the web.
    page.get_by_role("button", name="退出").click()
    page.goto(f"{server}/campaigns/ln-2018")
    expect(page.locator("main")).to_contain_text("校企合作项目申报表")
    page.goto(f"{server}/campaigns/ln-2018/forms/coop_apply/fill")
    page.get_by_label("申报单位全称（必填）").fill("沈阳职业技术学院")
    page.get_by_label("手机（必填）").fill("13904161234")
    page.locator("#field-field_4").get_by_label("省级").check()
    page.get_by_label("合作企业数（必填）").fill("12")
    page.locator("#field-field_6").get_by_label("是").check()
    page.get_by_label("申报日期（必填）").fill("2021-06-01")
    page.locator('input[name="table_8-0-col_1"]').fill("王明")
    page.locator('input[name="table_8-0-col_2"]').fill("处长")
    assert_accessible(page, "designer-fill")
    shot(page, "designer-5-fill")
    with page.expect_download() as info:
        page.get_by_role("button", name="生成并下载").click()
    path = ARTIFACTS / "designer-filled.docx"  # to look at (converted to a picture by hand)
    info.value.save_as(path)
    assert info.value.suggested_filename.endswith("校企合作项目申报表.docx")
    result = parse(path.read_bytes(), path.name, campaign="ln-2018")
    assert result.form == "coop_apply" and result.schema_version == "1.0.0"
    record = result.record
    assert record["unit_name"] == "沈阳职业技术学院" and record["field_4"] == "省级" and record["field_5"] == 12
    assert record["field_7"] == "2021-06-01" and record["table_8"] == [{"col_1": "王明", "col_2": "处长"}]


def test_a_refused_publication_shows_why_on_the_page_and_writes_nothing(store, word_form, tmp_path):
    layer = tmp_path / "forms-data"
    with store.session.begin() as s:
        create_user(s, "admin", PASSWORD, "admin")
    app = create_app({"TESTING": True, "SECRET_KEY": "t", "WTF_CSRF_ENABLED": False, "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root), "FORMS_DATA": str(layer)})
    app.extensions["jth_store"] = store
    client = app.test_client()
    assert client.post("/login", data={"username": "admin", "password": PASSWORD}).status_code == 302
    created = client.post("/admin/designer/", data={"campaign": "ln-2018", "form_id": "coop_apply",
                                                    "document": (word_form.open("rb"), word_form.name)})
    assert created.status_code == 303
    edit = created.headers["Location"]
    page = client.get(edit).get_data(as_text=True)
    assert "第1项 单位名称：标题" in page
    # Options other than the document's □是 □否: the template check fails, the page says so, nothing is written.
    fields = _form_values(page)
    fields.update({"f-5-kind": "choice", "f-5-options": "甲\n乙"})
    response = client.post(edit + "/publish", data=fields)
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "未能发布：模板检查没有通过" in text
    assert "选项与模板不一致" in text and "模板中是“是、否”" in text
    assert not layer.exists() or not any(p.is_file() for p in layer.rglob("*"))


def _form_values(page: str) -> dict[str, str]:
    """The editor's controls as the browser would post them (text boxes, selected options, ticked boxes)."""
    values = {m[0]: m[1] for m in re.findall(r'<input type="text" id="[^"]+" name="([^"]+)" value="([^"]*)"', page)}
    for name, options in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page):
        chosen = re.search(r'<option value="([^"]+)" selected', options)
        values[name] = chosen[1] if chosen else ""
    ticked = re.findall(r'<input type="checkbox" id="[^"]+" name="([^"]+)" value="1" checked', page)
    values.update(dict.fromkeys(ticked, "1"))
    return values
