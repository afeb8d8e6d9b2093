"""The form designer's use cases with real files: a plain Word form made by LibreOffice becomes a draft with fields
proposed from its labels and pictures of its pages; edited fields make the schema; a preview renders a copy with
sample values and reads every field back; publishing writes the form into the instance layer, where the
process-wide catalogue finds it, and a publication that would break the data writes nothing."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from service import create_app
from service.actions.actor import Actor
from service.actions.form_designer import (
    DesignRefused,
    create_from_document,
    get_draft,
    preview,
    publish,
    update_fields,
)
from service.actions.form_fields import check_fields, key_problem
from service.actions.intake import IntakeError
from service.forms.catalog import ProcessCatalog, catalog, load_catalog
from service.forms.datafile import DataError
from service.office.convert.client import shutdown_converter
from service.parse.pipeline import parse
from service.render.form import render
from service.store.models import AuditEntry
from tests.support.samples import FONTS_CONF, ROOT

STAFF = Actor("admin", "admin")
ARTIFACTS = ROOT / "test-artifacts" / "designer"

FORM_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>校企合作项目申报表</title></head><body>
<p align="center"><b><font size="5">校企合作项目申报表</font></b></p>
<table border="1" cellspacing="0" cellpadding="6" width="640">
<col width="130"><col width="190"><col width="130"><col width="190">
<tr><td>单位名称</td><td colspan="3"></td></tr>
<tr><td>联系人</td><td></td><td>手机</td><td></td></tr>
<tr><td>电子邮箱</td><td></td><td>成立时间</td><td></td></tr>
<tr><td>是否独立法人</td><td>□是　□否</td><td>合作企业数</td><td></td></tr>
</table>
<p>项目团队</p>
<table border="1" cellspacing="0" cellpadding="6" width="640">
<tr><td>序号</td><td>姓名</td><td>职务</td></tr>
<tr><td>1</td><td></td><td></td></tr>
<tr><td>2</td><td></td><td></td></tr>
</table>
</body></html>"""


def plain_docx(folder, profile) -> bytes:
    """A plain Word form (labels beside blanks, no content controls), made by LibreOffice from a web page."""
    source = folder / "form.html"
    source.write_text(FORM_HTML, encoding="utf-8")
    env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF))
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                    "--infilter=HTML (StarWriter)", "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(folder),
                    str(source)], check=True, capture_output=True, timeout=300, env=env)
    return (folder / "form.docx").read_bytes()


@pytest.fixture(scope="module")
def document(tmp_path_factory, lo_profile) -> bytes:
    return plain_docx(tmp_path_factory.mktemp("designer-doc"), lo_profile)


@pytest.fixture(scope="module", autouse=True)
def _converter_stops():
    yield
    shutdown_converter()


@pytest.fixture
def layer(tmp_path):
    """The instance layer of a test installation, laid over the shipped data for the process-wide catalogue."""
    path = tmp_path / "instance" / "forms-data"
    catalog.use_layer(path)
    yield path
    catalog.use_layer(None)


def edited(items: list[dict]) -> list[dict]:
    """What a person changes: a key, a title (the label stays the document's), a type, what is required."""
    by_title = {i["title"]: i for i in items}
    by_title["单位名称"].update(key="unit_name", title="申报单位全称")
    by_title["成立时间"].update(key="founded")
    by_title["联系人"].update(required=False)
    by_title["合作企业数"].update(key="partners", kind="integer")
    return items


def test_a_document_becomes_a_draft_with_proposed_fields_and_pictures(store, document, layer):
    draft_id = create_from_document(store, STAFF, document, "校企合作项目申报表.docx", "ln-2018", "coop_apply",
                                    layer=layer)
    draft = get_draft(store, draft_id)
    assert draft.state == "draft" and draft.kind == "docx" and draft.title == "校企合作项目申报表"
    by_title = {i["title"]: i for i in draft.fields}
    assert {"单位名称", "联系人", "手机", "电子邮箱", "成立时间", "是否独立法人", "合作企业数", "项目团队"} <= set(by_title)
    # Keys proposed in ASCII (the scaffold's are the Chinese labels), types guessed from the wording.
    assert all(key_problem(i["key"]) is None for i in draft.fields)
    assert by_title["手机"]["kind"] == "mobile" and by_title["电子邮箱"]["kind"] == "email"
    assert by_title["成立时间"]["kind"] == "date" and by_title["是否独立法人"]["kind"] == "yesno"
    assert by_title["合作企业数"]["kind"] == "integer"
    team = by_title["项目团队"]
    assert team["kind"] == "table" and [c["title"] for c in team["columns"]] == ["姓名", "职务"]
    assert "第1个表格" in by_title["单位名称"]["where"]
    # A picture of the page, to show beside the fields.
    assert draft.pages and store.files.get(draft.pages[0]).startswith(b"\x89PNG")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "page-1.png").write_bytes(store.files.get(draft.pages[0]))
    # The draft schema is draft 2020-12 at version 1.0.0, and the upload is audited.
    assert draft.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert draft.schema["x-version"] == "1.0.0"
    with store.session() as s:
        assert s.query(AuditEntry).filter_by(action="design_create", target=f"form-draft:{draft_id}").count() == 1


def test_edits_make_the_schema_and_mistakes_are_said_per_setting(store, document, layer):
    draft_id = create_from_document(store, STAFF, document, "申报表.docx", "ln-2018", "coop_apply", layer=layer)
    items = edited(get_draft(store, draft_id).fields)
    draft = update_fields(store, STAFF, draft_id, items, title="校企合作项目申报表", annex="附件1")
    props = draft.schema["properties"]
    assert props["unit_name"]["title"] == "申报单位全称" and props["unit_name"]["x-label"] == "单位名称"
    assert props["partners"] == {"title": "合作企业数", "type": "integer", "minimum": 0}
    assert "unit_name" in draft.schema["required"] and not any(
        props[k]["title"] == "联系人" for k in draft.schema["required"])
    # Wrong keys, a missing title and a choice without options are refused, each at its setting; nothing saved.
    bad = json.loads(json.dumps(items))
    bad[0]["key"], bad[1]["key"], bad[2]["title"] = "单位", "ab12", ""
    bad[3].update(kind="choice", options="只有一个")
    with pytest.raises(DesignRefused) as refused:
        update_fields(store, STAFF, draft_id, bad, title="")
    at = {m.at: m.message for m in refused.value.mistakes}
    assert {"title", "fields.0.key", "fields.1.key", "fields.2.title", "fields.3.options"} <= set(at)
    assert "只用小写英文字母" in at["fields.0.key"] and "单元格地址" in at["fields.1.key"]
    assert get_draft(store, draft_id).schema == draft.schema
    twice = json.loads(json.dumps(items))
    twice[1]["key"] = twice[0]["key"]
    assert any("相同" in m.message for m in check_fields(twice, "表"))


def test_preview_renders_a_sample_copy_and_reads_every_field_back(store, document, layer):
    draft_id = create_from_document(store, STAFF, document, "申报表.docx", "ln-2018", "coop_apply", layer=layer)
    update_fields(store, STAFF, draft_id, edited(get_draft(store, draft_id).fields), title="校企合作项目申报表")
    found = preview(store, STAFF, draft_id, layer=layer)
    assert found.found == len(found.fields), [f for f in found.fields if f["status"] != "same"]
    assert not found.problems
    assert any(c["path"] == "unit_name" and "标签" in c["how"] for c in found.check)
    copy = store.files.get(found.sha256)
    (ARTIFACTS / "preview.docx").write_bytes(copy)
    # Previewing publishes nothing.
    assert not layer.exists() and "coop_apply" not in catalog().campaign("ln-2018").forms
    assert get_draft(store, draft_id).preview["found"] == found.found


def test_publish_adds_the_form_to_a_shipped_campaign_for_every_reader(store, document, layer):
    draft_id = create_from_document(store, STAFF, document, "申报表.docx", "ln-2018", "coop_apply", layer=layer)
    update_fields(store, STAFF, draft_id, edited(get_draft(store, draft_id).fields), title="校企合作项目申报表")
    elsewhere = ProcessCatalog()  # the catalogue of another process of the service, read before the publication
    elsewhere.use_layer(layer)
    assert "coop_apply" not in elsewhere().campaign("ln-2018").forms
    assert publish(store, STAFF, draft_id, layer=layer) == "1.0.0"
    elsewhere.LOOK_EVERY = 0  # (it looks at the layer's files at most once a second)
    assert elsewhere().form("ln-2018", "coop_apply").title == "校企合作项目申报表"
    # Data files in the layer, like shipped ones: the schema, the document as the template, the forms entry.
    entry = json.loads((layer / "data/campaigns/ln-2018.json").read_text(encoding="utf-8"))
    assert entry["id"] == "ln-2018" and [f["id"] for f in entry["forms"]] == ["coop_apply"]
    assert (layer / "templates/docx/ln-2018/coop_apply.docx").read_bytes() == document
    form = catalog().form("ln-2018", "coop_apply")
    assert form.version == "1.0.0" and "work_summary" in catalog().campaign("ln-2018").forms
    assert load_catalog(layer=layer).form("ln-2018", "coop_apply").title == "校企合作项目申报表"
    # A school's record renders into the plain document and reads back.
    done = render("ln-2018", "coop_apply", {"unit_name": "沈阳职业技术学院", "partners": 12})
    result = parse(done.content, done.filename, campaign="ln-2018")
    assert result.record["unit_name"] == "沈阳职业技术学院" and result.record["partners"] == 12
    assert get_draft(store, draft_id).state == "published"

    # A changed structure is a new version; the old one is kept to read the files issued under it.
    items = get_draft(store, draft_id).fields
    partners = next(i for i in items if i["key"] == "partners")
    partners["required"], partners["key"] = False, "partner_count"
    update_fields(store, STAFF, draft_id, items, title="校企合作项目申报表")
    assert get_draft(store, draft_id).state == "draft"
    assert publish(store, STAFF, draft_id, layer=layer) == "1.1.0"
    form = catalog().form("ln-2018", "coop_apply")
    assert form.version == "1.1.0" and form.at("1.0.0").version == "1.0.0"
    assert result.schema_version == "1.0.0"
    # A file issued under 1.0.0 is read with 1.0.0's fields, not blamed for lacking 1.1.0's.
    again = parse(done.content, done.filename, campaign="ln-2018")
    assert again.schema_version == "1.0.0"
    assert again.record["partners"] == 12 and "partner_count" not in again.record
    assert not [p for p in again.problems if p.path == "partner_count"]
    fresh = render("ln-2018", "coop_apply", {"unit_name": "沈阳职业技术学院", "partner_count": 9})
    assert parse(fresh.content, fresh.filename, campaign="ln-2018").record["partner_count"] == 9


def test_a_publication_that_breaks_the_data_writes_nothing(store, document, layer):
    layer.mkdir(parents=True)
    draft_id = create_from_document(store, STAFF, document, "申报表.docx", "ln-2018", "coop_apply", layer=layer)
    # A title no label in the document reads as: forms check fails, nothing is published.
    items = get_draft(store, draft_id).fields
    items[0].update(label="", title="不存在的栏目")
    update_fields(store, STAFF, draft_id, items, title="校企合作项目申报表")
    with pytest.raises(DesignRefused) as refused:
        publish(store, STAFF, draft_id, layer=layer)
    assert "模板检查没有通过" in refused.value.message
    assert any("不存在的栏目" in m.message for m in refused.value.mistakes)
    assert list(layer.iterdir()) == []
    # A campaign file in the layer naming files that are not there: the catalogue's own messages, nothing written.
    (layer / "data" / "campaigns").mkdir(parents=True)
    broken = {"id": "ln-2018", "forms": [{"id": "other", "title": "表", "schema": "x.schema.json",
                                          "template": "docx/x.docx", "one_per": "group"}]}
    (layer / "data/campaigns/ln-2018.json").write_text(json.dumps(broken), encoding="utf-8")
    items[0].update(label="单位名称", title="单位名称")
    update_fields(store, STAFF, draft_id, edited(items), title="校企合作项目申报表")
    with pytest.raises(DesignRefused) as refused:
        publish(store, STAFF, draft_id, layer=layer)
    assert "数据有" in refused.value.message
    assert any("forms-data/schemas/x.schema.json" in m.message for m in refused.value.mistakes)
    assert sorted(p.name for p in layer.rglob("*") if p.is_file()) == ["ln-2018.json"]


def test_only_staff_design_and_shipped_forms_are_not_replaced(store, document, layer):
    with pytest.raises(IntakeError):
        create_from_document(store, Actor("edu-ln", "recommender", "edu-ln"), document, "a.docx", "ln-2018", "x",
                             layer=layer)
    with pytest.raises(DesignRefused) as refused:
        create_from_document(store, STAFF, document, "a.docx", "ln-2018", "work_summary", layer=layer)
    assert "已有编号为 work_summary 的表单" in refused.value.message
    with pytest.raises(DesignRefused) as refused:
        create_from_document(store, STAFF, b"not a document", "a.pdf", "ln-2018", "coop", layer=layer)
    assert ".docx" in refused.value.message


def test_flask_forms_publish_publishes_a_draft_like_the_page(store, document, tmp_path):
    layer = tmp_path / "instance" / "forms-data"
    app = create_app({"TESTING": True, "DATABASE_URL": store.url, "FILE_STORE": str(store.files.root),
                      "FORMS_DATA": str(layer)})
    app.extensions["jth_store"] = store
    try:
        draft_id = create_from_document(store, STAFF, document, "申报表.docx", "ln-2018", "coop_apply", layer=layer)
        result = app.test_cli_runner().invoke(args=["forms", "publish", str(draft_id), "--by", "operator"])
        assert result.exit_code == 0, result.output
        assert "已发布《校企合作项目申报表》：ln-2018/coop_apply 1.0.0 版" in result.output
        assert catalog().form("ln-2018", "coop_apply").version == "1.0.0"
        with store.session() as s:
            assert s.query(AuditEntry).filter_by(action="design_publish", actor="operator").count() == 1
        missing = app.test_cli_runner().invoke(args=["forms", "publish", "999"])
        assert missing.exit_code == 1 and "没有编号为 999 的表单草稿" in missing.output
    finally:
        catalog.use_layer(None)


def test_a_layer_broken_by_hand_leaves_a_running_service_on_the_data_it_had(store, document, layer, caplog):
    draft_id = create_from_document(store, STAFF, document, "申报表.docx", "ln-2018", "coop_apply", layer=layer)
    publish(store, STAFF, draft_id, layer=layer)
    running = ProcessCatalog()
    running.use_layer(layer)
    running.LOOK_EVERY = 0
    assert "coop_apply" in running().campaign("ln-2018").forms
    path = layer / "data/campaigns/ln-2018.json"
    path.write_text(path.read_text(encoding="utf-8").replace('"one_per": "recommender"', '"one_per": "unit"'),
                    encoding="utf-8")
    assert "coop_apply" in running().campaign("ln-2018").forms  # still served
    assert "forms-data/data/campaigns/ln-2018.json" in caplog.text and "one_per" in caplog.text
    starting = ProcessCatalog()  # a process starting now refuses the data, naming the file and the place
    starting.use_layer(layer)
    with pytest.raises(DataError, match="forms-data/data/campaigns/ln-2018.json"):
        starting()


def test_a_legacy_word_document_is_converted_and_a_pdf_is_refused(store, document, layer, tmp_path, lo_profile):
    (tmp_path / "form.docx").write_bytes(document)
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={lo_profile.as_uri()}",
                    "--convert-to", "doc", "--outdir", str(tmp_path), str(tmp_path / "form.docx")],
                   check=True, capture_output=True, timeout=300, env=dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF)))
    draft = get_draft(store, create_from_document(store, STAFF, (tmp_path / "form.doc").read_bytes(), "申报表.doc",
                                                  "ln-2018", "coop_apply", layer=layer))
    assert draft.kind == "docx" and draft.filename == "申报表.docx"
    assert "单位名称" in {i["title"] for i in draft.fields}
    assert store.files.get(draft.document_sha256).startswith(b"PK")
    pdf = (tmp_path / "page.pdf")
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    with pytest.raises(DesignRefused, match="这是 PDF 文件"):
        create_from_document(store, STAFF, pdf.read_bytes(), "page.pdf", "ln-2018", "coop_apply", layer=layer)


ROSTER_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>实训基地汇总表</title></head><body>
<table border="1" cellspacing="0" cellpadding="4">
<tr><td colspan="6"><b>实训基地建设项目汇总表</b></td></tr>
<tr><td>填报单位：</td><td colspan="2"></td><td>填表人：</td><td colspan="2"></td></tr>
<tr><td>联系电话：</td><td colspan="2"></td><td>填表日期：</td><td colspan="2"></td></tr>
<tr><td>序号</td><td>基地名称</td><td>所在单位</td><td>工位数</td><td>是否共建</td></tr>
<tr><td>1</td><td></td><td></td><td></td><td></td></tr>
<tr><td>2</td><td></td><td></td><td></td><td></td></tr>
</table></body></html>"""


def test_an_excel_form_is_designed_previewed_and_published_the_same_way(store, layer, tmp_path, lo_profile):
    (tmp_path / "roster.html").write_text(ROSTER_HTML, encoding="utf-8")
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={lo_profile.as_uri()}",
                    "--infilter=HTML (StarCalc)", "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir",
                    str(tmp_path), str(tmp_path / "roster.html")], check=True, capture_output=True, timeout=300,
                   env=dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF)))
    draft_id = create_from_document(store, STAFF, (tmp_path / "roster.xlsx").read_bytes(), "汇总表.xlsx", "jth-2020",
                                    "base_roster", layer=layer)
    draft = get_draft(store, draft_id)
    assert draft.kind == "xlsx" and draft.pages
    table = next(i for i in draft.fields if i["kind"] == "table")
    assert [(c["title"], c["kind"]) for c in table["columns"]] == [
        ("基地名称", "text"), ("所在单位", "text"), ("工位数", "integer"), ("是否共建", "yesno")]
    table["title"] = "实训基地"
    update_fields(store, STAFF, draft_id, draft.fields, title="实训基地建设项目汇总表")
    found = preview(store, STAFF, draft_id, layer=layer)
    assert found.found == len(found.fields) and not found.problems
    assert publish(store, STAFF, draft_id, layer=layer) == "1.0.0"
    form = catalog().form("jth-2020", "base_roster")
    assert form.kind == "xlsx" and form.schema["properties"][table["key"]]["title"] == "实训基地"
