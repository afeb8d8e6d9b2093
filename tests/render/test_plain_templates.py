"""A new form with no code: the attachment as published (a plain Word or Excel document, labels beside blanks) is
the template.

As an operator would: LibreOffice makes the document (from a web page, no content controls, no defined names),
``forms scaffold`` proposes its schema, the operator edits it and adds the form to a campaign in a folder of its
own, ``forms check`` says how each field is found, ``forms render`` writes a prefilled copy (looked at as a PDF and
a picture), a person fills the rest in LibreOffice by the labels, and ``forms parse`` reads every field back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook

from tests.support.office_fill import fill_in_office
from tests.support.samples import FONTS_CONF, ROOT, pdf_text, soffice_convert

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
ARTIFACTS = ROOT / "test-artifacts" / "plain-templates"
CAMPAIGN = "train-2021"

APPLY_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>实训基地建设项目申报表</title></head><body>
<p>附件1</p>
<p align="center"><b><font size="5">实训基地建设项目申报表</font></b></p>
<table border="1" cellspacing="0" cellpadding="6" width="640">
<col width="130"><col width="190"><col width="130"><col width="190">
<tr><td>单位名称</td><td colspan="3"></td></tr>
<tr><td>成立时间</td><td></td><td>是否独立法人</td><td>□是　□否</td></tr>
<tr><td>联系人</td><td></td><td>办公电话</td><td></td></tr>
<tr><td>手机</td><td></td><td>电子邮箱</td><td></td></tr>
<tr><td>专任教师人数</td><td></td><td>在校生数</td><td></td></tr>
<tr><td>基地类型</td><td colspan="3">□校内基地　□校外基地　□共建基地</td></tr>
</table>
<p>一、项目简介</p>
<p>&nbsp;</p>
<p>&nbsp;</p>
<table border="1" cellspacing="0" cellpadding="6" width="640">
<tr><td>二、建设目标</td></tr>
<tr><td height="90">&nbsp;</td></tr>
</table>
<p>三、项目团队</p>
<table border="1" cellspacing="0" cellpadding="6" width="640">
<col width="60"><col width="200"><col width="180"><col width="200">
<tr><td>序号</td><td>姓名</td><td>职务</td><td>手机号码</td></tr>
<tr><td>1</td><td></td><td></td><td></td></tr>
<tr><td>2</td><td></td><td></td><td></td></tr>
<tr><td>3</td><td></td><td></td><td></td></tr>
</table>
<p>填表日期：______________</p>
</body></html>"""

ROSTER_HTML = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>实训基地汇总表</title></head><body>
<table border="1" cellspacing="0" cellpadding="4">
<tr><td colspan="6"><b>实训基地建设项目汇总表</b></td></tr>
<tr><td>填报单位：</td><td colspan="2"></td><td>填表人：</td><td colspan="2"></td></tr>
<tr><td>联系电话：</td><td colspan="2"></td><td>填表日期：</td><td colspan="2"></td></tr>
<tr><td>是否同意公开：</td><td colspan="5">□是　□否</td></tr>
<tr><td>序号</td><td>基地名称</td><td>所在单位</td><td>建设年份</td><td>工位数</td><td>是否共建</td></tr>
<tr><td>1</td><td></td><td></td><td></td><td></td><td></td></tr>
<tr><td>2</td><td></td><td></td><td></td><td></td><td></td></tr>
<tr><td>3</td><td></td><td></td><td></td><td></td><td></td></tr>
<tr><td>4</td><td></td><td></td><td></td><td></td><td></td></tr>
</table></body></html>"""


def from_html(html: str, name: str, infilter: str, target: str, folder: Path, profile: Path) -> Path:
    """A document made by LibreOffice from a web page: what an operator gets with File → Save As."""
    source = folder / f"{name}.html"
    source.write_text(html, encoding="utf-8")
    env = dict(os.environ, FONTCONFIG_FILE=str(FONTS_CONF))
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                    f"--infilter={infilter}", "--convert-to", target, "--outdir", str(folder), str(source)],
                   check=True, capture_output=True, timeout=300, env=env)
    made = folder / f"{name}.{target.split(':')[0]}"
    assert made.exists(), f"LibreOffice did not make {made.name}"
    return made


def campaign_file(forms: list[dict]) -> dict:
    """A new call, written as data: the Liaoning campaign's facts with forms of its own."""
    base = json.loads((ROOT / "data" / "campaigns" / "ln-2018.json").read_text(encoding="utf-8"))
    keep = ("title", "document_number", "issuer", "issued", "timezone", "reminders", "summary", "submit_to",
            "contacts", "submitters", "submitter_label")
    doc = {k: base[k] for k in keep if k in base}
    return {"id": CAMPAIGN, **doc, "title": "实训基地建设项目申报", "deadline": "2021-06-30", "forms": forms}


def edited_apply(schema: dict) -> dict:
    """What the operator changes in the proposal: English keys for some fields, a title other than the label
    (the label goes to x-label), a field made optional."""
    props = schema["properties"]
    unit = props.pop("单位名称")
    props["unit_name"] = {**unit, "title": "申报单位全称", "x-label": "单位名称", "minLength": 2}
    props["phone"] = props.pop("办公电话")
    props["team"] = props.pop("项目团队")
    schema["required"] = [("unit_name" if k == "单位名称" else "phone" if k == "办公电话" else k)
                          for k in schema["required"] if k != "联系人"]
    return schema


@pytest.fixture(scope="module")
def operator(tmp_path_factory, lo_profile) -> Path:
    """The service's data in a folder of its own, with the new call's two plain forms, their schemas as scaffolded
    and edited, and the campaign file."""
    root = tmp_path_factory.mktemp("new-call")
    for part in ("data", "schemas", "templates"):
        shutil.copytree(ROOT / part, root / part)
    made = root / "made"
    made.mkdir()
    apply = from_html(APPLY_HTML, "apply", "HTML (StarWriter)", "docx:MS Word 2007 XML", made, lo_profile)
    roster = from_html(ROSTER_HTML, "roster", "HTML (StarCalc)", "xlsx:Calc MS Excel 2007 XML", made, lo_profile)
    shutil.copy(apply, root / "templates" / "docx" / "training_apply.docx")
    shutil.copy(roster, root / "templates" / "xlsx" / "training_roster.xlsx")
    return root


def scaffolded(runner, document: Path, out: Path) -> dict:
    result = runner.invoke(args=["forms", "scaffold", str(document), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text(encoding="utf-8"))


def test_a_plain_word_template_has_no_anchors(operator):
    with zipfile.ZipFile(operator / "templates" / "docx" / "training_apply.docx") as zf:
        xml = zf.read("word/document.xml")
    assert b"<w:sdt" not in xml and b"{{" not in xml


def test_scaffold_proposes_fields_with_types_from_the_wording(cli, operator):
    schema = scaffolded(cli, operator / "made" / "apply.docx", operator / "made" / "apply.proposed.json")
    p = schema["properties"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "实训基地建设项目申报表"
    assert p["成立时间"]["format"] == "date" and p["填表日期"]["format"] == "date"
    assert p["办公电话"]["pattern"].startswith("^((0") and p["手机"]["pattern"] == "^1[3-9]\\d{9}$"
    assert p["电子邮箱"]["format"] == "email"
    assert p["专任教师人数"] == {**p["专任教师人数"], "type": "integer", "minimum": 0}
    assert p["在校生数"]["type"] == "integer"
    assert p["是否独立法人"]["enum"] == ["是", "否"]
    assert p["基地类型"]["enum"] == ["校内基地", "校外基地", "共建基地"]
    assert p["项目简介"]["type"] == "string" and p["建设目标"]["type"] == "string"
    team = p["项目团队"]
    assert team["type"] == "array" and list(team["items"]["properties"]) == ["姓名", "职务", "手机号码"]
    assert team["items"]["properties"]["手机号码"]["pattern"] == "^1[3-9]\\d{9}$"
    # a second run does not overwrite what the operator may have edited
    again = cli.invoke(args=["forms", "scaffold", str(operator / "made" / "apply.docx"),
                                "-o", str(operator / "made" / "apply.proposed.json")])
    assert again.exit_code != 0 and "已存在" in again.output

    roster = scaffolded(cli, operator / "made" / "roster.xlsx", operator / "made" / "roster.proposed.json")
    rp = roster["properties"]
    assert list(rp)[:5] == ["填报单位", "填表人", "联系电话", "填表日期", "是否同意公开"]
    assert rp["是否同意公开"]["enum"] == ["是", "否"] and rp["填表日期"]["format"] == "date"
    rows = next(v for v in rp.values() if v["type"] == "array")["items"]["properties"]
    assert list(rows) == ["基地名称", "所在单位", "建设年份", "工位数", "是否共建"]
    assert rows["工位数"]["type"] == "integer" and rows["是否共建"]["enum"] == ["是", "否"]


@pytest.fixture(scope="module")
def installed(cli, operator) -> Path:
    """The schemas as scaffolded and edited, and the campaign file that names the forms: the new call, as data."""
    made = operator / "made"
    apply = edited_apply(scaffolded(cli, made / "apply.docx", made / "apply.schema.json"))
    roster = scaffolded(cli, made / "roster.xlsx", made / "roster.schema.json")
    rows_key = next(k for k, v in roster["properties"].items() if v["type"] == "array")
    roster["properties"]["bases"] = roster["properties"].pop(rows_key)
    (operator / "schemas" / "training_apply.schema.json").write_text(json.dumps(apply, ensure_ascii=False), "utf-8")
    (operator / "schemas" / "training_roster.schema.json").write_text(json.dumps(roster, ensure_ascii=False), "utf-8")
    forms = [
        {"id": "training_apply", "annex": "附件1", "title": "实训基地建设项目申报表",
         "schema": "training_apply.schema.json", "template": "docx/training_apply.docx", "one_per": "group"},
        {"id": "training_roster", "annex": "附件2", "title": "实训基地建设项目汇总表",
         "schema": "training_roster.schema.json", "template": "xlsx/training_roster.xlsx", "one_per": "group"},
    ]
    path = operator / "data" / "campaigns" / f"{CAMPAIGN}.json"
    path.write_text(json.dumps(campaign_file(forms), ensure_ascii=False, indent=2), encoding="utf-8")
    return operator


def test_check_says_each_field_is_found_by_its_label(cli, installed):
    result = cli.invoke(args=["forms", "check", CAMPAIGN, "--root", str(installed)])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "training_apply（实训基地建设项目申报表，docx）：通过" in out
    assert "unit_name（申报单位全称）：标签，标签“单位名称”（第1个表格第1行第2格）" in out
    assert "是否独立法人（是否独立法人）：标签，标签“是否独立法人”（第1个表格第2行第4格）" in out
    assert "项目简介（项目简介）：标签，标签“一、项目简介”（正文第4段）" in out
    assert "team[].姓名（姓名）：标签，标签“姓名”（第3个表格第1行第2格）" in out
    assert "填表日期（填表日期）：标签，标签“填表日期”（正文第7段）" in out
    assert "training_roster（实训基地建设项目汇总表，xlsx）：通过" in out
    assert "是否同意公开（是否同意公开）：标签，标签“是否同意公开：”（工作表“Sheet1”B4单元格）" in out


APPLY_RECORD = {
    "unit_name": "辽宁装备制造职业技术学院", "是否独立法人": "否", "基地类型": "共建基地", "专任教师人数": 35,
    "填表日期": "2021-06-01", "team": [{"姓名": "赵一", "职务": "主任", "手机号码": "13800000001"}],
}
ROSTER_RECORD = {
    "填报单位": "辽宁省教育厅", "是否同意公开": "是",
    "bases": [{"基地名称": "数控实训中心", "所在单位": "辽宁装备制造职业技术学院", "建设年份": "2019", "工位数": 60,
               "是否共建": "否"}],
}


@pytest.fixture(scope="module")
def rendered(cli, installed) -> dict[str, Path]:
    out = {}
    for form_id, record, ext in (("training_apply", APPLY_RECORD, "docx"), ("training_roster", ROSTER_RECORD, "xlsx")):
        data = installed / f"{form_id}.json"
        data.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
        out[form_id] = installed / f"{form_id}.prefilled.{ext}"
        result = cli.invoke(args=["forms", "render", CAMPAIGN, form_id, "--root", str(installed),
                                            "--data", str(data), "-o", str(out[form_id])])
        assert result.exit_code == 0, result.output
    return out




def controls(path: Path) -> dict[str, str]:
    with zipfile.ZipFile(path) as zf:
        root = etree.fromstring(zf.read("word/document.xml"))
    out = {}
    for sdt in root.iter(W + "sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag").get(W + "val")
        out.setdefault(tag, "".join(t.text or "" for t in sdt.iter(W + "t")))
    return out


def test_the_rendered_copy_carries_anchors_values_and_ticked_boxes(rendered, lo_profile):
    texts = controls(rendered["training_apply"])
    assert texts["unit_name"] == "辽宁装备制造职业技术学院"
    assert texts["是否独立法人"] == "□是　☑否"
    assert texts["基地类型"] == "□校内基地　□校外基地　☑共建基地"
    assert texts["填表日期"] == "2021年6月1日"
    assert texts["team[].姓名"] == "赵一" and texts["专任教师人数"] == "35"
    with zipfile.ZipFile(rendered["training_apply"]) as zf:
        assert b"jth.campaign" in zf.read("docProps/custom.xml")
    wb = load_workbook(rendered["training_roster"])
    ws = wb.worksheets[0]
    assert ws["B2"].value == "辽宁省教育厅" and ws["B4"].value == "☑是　□否"
    # the template's own numbering (序号) stays, the values go under their headers
    assert [ws.cell(6, c).value for c in range(1, 7)] == [1, "数控实训中心", "辽宁装备制造职业技术学院", "2019", 60, "否"]
    assert {"填报单位", "bases.基地名称", "bases.是否共建"} <= set(wb.defined_names)
    assert "_meta" in wb.sheetnames

    # what a person sees: every prefilled value on the page, the chosen boxes ticked
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pdfs = soffice_convert(list(rendered.values()), "pdf", ARTIFACTS, lo_profile)
    for pdf in pdfs:
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(pdf), str(ARTIFACTS / pdf.stem)], check=True)
    page = "".join(pdf_text(pdfs[0]).split())
    for shown in ("单位名称辽宁装备制造职业技术学院", "☑否", "☑共建基地", "赵一", "主任", "13800000001",
                  "填表日期:2021年6月1日", "实训基地建设项目申报表"):
        assert shown in page, shown
    sheet = "".join(pdf_text(pdfs[1]).split())
    assert "辽宁省教育厅" in sheet and "☑是" in sheet and "数控实训中心" in sheet


APPLY_FILLS = [
    {"label": "成立时间", "value": "2015-06-01"},
    {"label": "联系人", "value": "王五"},
    {"label": "办公电话", "value": "024-12345678"},
    {"label": "手机", "value": "13912345678"},
    {"label": "电子邮箱", "value": "wangwu@example.cn"},
    {"label": "在校生数", "value": "1200"},
    {"label": "是否独立法人", "value": "☑是　□否"},
    {"heading": "一、项目简介", "value": "面向装备制造业。"},
    {"heading": "二、建设目标", "value": "建成区域共享的实训基地。\n年培训五千人次。"},
    {"table": ["姓名", "职务", "手机号码"],
     "rows": [["赵一", "主任", "13800000001"], ["钱二", "教师", "13800000002"], ["孙三", "教师", "13800000003"],
              ["李四", "工程师", "13800000004"]]},
]
ROSTER_FILLS = [
    {"label": "填表人：", "value": "周六"},
    {"label": "联系电话：", "value": "024-87654321", "as": "string"},
    {"label": "填表日期：", "value": "2021-06-02", "as": "string"},
    {"table": ["基地名称", "所在单位", "建设年份", "工位数", "是否共建"],
     "rows": [["数控实训中心", "辽宁装备制造职业技术学院", "2019", 60, "否"],
              ["焊接实训中心", "辽宁石化职业技术学院", "2020", 40, "是"]]},
]


@pytest.fixture(scope="module")
def filled(rendered, installed, lo_profile) -> dict[str, Path]:
    out = {"training_apply": installed / "apply.filled.docx", "training_roster": installed / "roster.filled.xlsx"}
    fill_in_office([
        {"src": rendered["training_apply"], "fills": APPLY_FILLS,
         "outputs": [{"path": out["training_apply"], "filter": "MS Word 2007 XML"}]},
        {"src": rendered["training_roster"], "fills": ROSTER_FILLS,
         "outputs": [{"path": out["training_roster"], "filter": "Calc MS Excel 2007 XML"}]},
    ], lo_profile)
    return out


def parsed(runner, installed: Path, path: Path) -> dict:
    result = runner.invoke(args=["forms", "parse", str(path), "--json", "--root", str(installed),
                                 "--campaign", CAMPAIGN, "--received-at", "2021-06-10T10:00:00+08:00"])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.output)


def test_the_word_form_filled_by_its_labels_reads_back_whole(cli, installed, filled):
    doc = parsed(cli, installed, filled["training_apply"])
    assert doc["readable"] and doc["form"] == "training_apply" and doc["identified_by"] == "stamp"
    missing = [f["path"] for f in doc["fields"] if f["found"] == "not_found"]
    assert missing == [], missing
    record = doc["record"]
    assert record["unit_name"] == "辽宁装备制造职业技术学院"
    assert record["成立时间"] == "2015-06-01" and record["填表日期"] == "2021-06-01"
    assert record["联系人"] == "王五" and record["phone"] == "024-12345678" and record["手机"] == "13912345678"
    assert record["电子邮箱"] == "wangwu@example.cn"
    assert record["专任教师人数"] == 35 and record["在校生数"] == 1200
    assert record["是否独立法人"] == "是" and record["基地类型"] == "共建基地"
    assert record["项目简介"] == "面向装备制造业。"
    assert record["建设目标"] == "建成区域共享的实训基地。\n年培训五千人次。"
    assert [m["姓名"] for m in record["team"]] == ["赵一", "钱二", "孙三", "李四"]
    assert record["team"][3] == {"姓名": "李四", "职务": "工程师", "手机号码": "13800000004"}
    assert doc["errors"] == [], doc["errors"]


def test_the_excel_form_filled_by_its_labels_reads_back_whole(cli, installed, filled):
    doc = parsed(cli, installed, filled["training_roster"])
    assert doc["readable"] and doc["form"] == "training_roster"
    missing = [f["path"] for f in doc["fields"] if f["found"] == "not_found"]
    assert missing == [], missing
    record = doc["record"]
    assert record["填报单位"] == "辽宁省教育厅" and record["填表人"] == "周六"
    assert record["联系电话"] == "024-87654321" and record["填表日期"] == "2021-06-02"
    assert record["是否同意公开"] == "是"
    assert record["bases"] == [
        {"基地名称": "数控实训中心", "所在单位": "辽宁装备制造职业技术学院", "建设年份": "2019", "工位数": 60, "是否共建": "否"},
        {"基地名称": "焊接实训中心", "所在单位": "辽宁石化职业技术学院", "建设年份": "2020", "工位数": 40, "是否共建": "是"},
    ]
    assert doc["errors"] == [], doc["errors"]


def test_a_copy_without_its_anchors_still_reads_back_by_the_labels(cli, installed, filled, tmp_path):
    """Pasted into a new file or saved by a suite that drops controls: the labels learned from the template lead
    to every value."""
    source = filled["training_apply"]
    bare = tmp_path / "bare.docx"
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(bare, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                root = etree.fromstring(data)
                for sdt in list(root.iter(W + "sdt")):
                    parent, content = sdt.getparent(), sdt.find(W + "sdtContent")
                    at = parent.index(sdt)
                    for child in reversed(list(content)):
                        parent.insert(at, child)
                    parent.remove(sdt)
                data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            dst.writestr(item, data)
    doc = parsed(cli, installed, bare)
    assert [f["path"] for f in doc["fields"] if f["found"] == "not_found"] == []
    assert doc["record"]["unit_name"] == "辽宁装备制造职业技术学院" and doc["record"]["是否独立法人"] == "是"
    assert len(doc["record"]["team"]) == 4 and doc["record"]["填表日期"] == "2021-06-01"
