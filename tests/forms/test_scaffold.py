"""forms scaffold: a schema proposed from a plain document, and the layout that finds it again by its labels."""

from __future__ import annotations

import io

import pytest
from docx import Document
from openpyxl import Workbook
from openpyxl.styles import Border, Side

from service.forms.catalog import Form
from service.forms.fields import schema_fields
from service.forms.layout import LABEL, layout
from service.forms.places import options_of, ticked
from service.forms.scaffold import guess, scaffold


@pytest.mark.parametrize(("label", "expected"), [
    ("成立时间", {"type": "string", "format": "date"}),
    ("填表日期：", {"type": "string", "format": "date"}),
    ("联系电话", {"type": "string", "pattern": r"^((0\d{2,3}-?)?\d{7,8}(-\d{1,6})?|1[3-9]\d{9})$"}),
    ("手机号码", {"type": "string", "pattern": r"^1[3-9]\d{9}$"}),
    ("电子邮箱", {"type": "string", "format": "email", "maxLength": 100}),
    ("专任教师人数", {"type": "integer", "minimum": 0}),
    ("在校生数", {"type": "integer", "minimum": 0}),
    ("成员单位数（学校）", {"type": "integer", "minimum": 0}),
    ("实训室（个）", {"type": "integer", "minimum": 0}),
    ("是否具有法人资格", {"type": "string", "enum": ["是", "否"]}),
    ("单位名称", {"type": "string", "maxLength": 200}),
])
def test_the_wording_says_the_type(label, expected):
    assert guess(label)[0] == expected


def test_boxes_are_the_choices_and_render_ticked():
    assert options_of("□理事会制　□董事会制　□其他") == ("理事会制", "董事会制", "其他")
    assert options_of("□是") == () and options_of("是　否") == ()
    assert guess("运行模式", options=("理事会制", "董事会制"))[0] == {"type": "string", "enum": ["理事会制", "董事会制"]}
    assert ticked("□理事会制　□董事会制", "董事会制") == "□理事会制　☑董事会制"
    assert ticked("□是 □否", "") == "□是 □否"


def plain_docx() -> bytes:
    doc = Document()
    doc.add_paragraph("附件2")
    doc.add_paragraph("职业院校双师型教师认定申请表")
    t = doc.add_table(rows=4, cols=4)
    for (r, c), text in {(0, 0): "姓名", (0, 2): "性别", (0, 3): "□男　□女", (1, 0): "所在单位", (2, 0): "联系电话",
                         (3, 0): "紧急联系人", (3, 2): "姓名"}.items():
        t.cell(r, c).text = text
    counts = doc.add_table(rows=2, cols=3)
    for c, text in enumerate(["讲授课程数", "指导学生数", "企业实践天数"]):
        counts.cell(0, c).text = text
    doc.add_paragraph("主要工作经历")
    history = doc.add_table(rows=4, cols=3)
    for c, text in enumerate(["序号", "起止时间", "单位及职务"]):
        history.cell(0, c).text = text
    doc.add_paragraph("个人陈述")
    doc.add_paragraph("")
    doc.add_paragraph("")
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def test_a_plain_word_form_becomes_a_schema_and_its_fields_are_found_again(tmp_path):
    data = plain_docx()
    schema, listed = scaffold(data, "申请表.docx")
    p = schema["properties"]
    assert schema["title"] == "职业院校双师型教师认定申请表"
    assert list(p) == ["姓名", "性别", "所在单位", "联系电话", "紧急联系人", "姓名_2", "讲授课程数", "指导学生数",
                       "企业实践天数", "主要工作经历", "个人陈述"]
    assert p["性别"]["enum"] == ["男", "女"] and p["讲授课程数"]["type"] == "integer"
    assert p["姓名_2"]["title"] == "姓名"  # the same label twice: two fields, in document order
    history = p["主要工作经历"]
    assert history["type"] == "array" and list(history["items"]["properties"]) == ["起止时间", "单位及职务"]
    assert p["个人陈述"]["maxLength"] == 5000
    assert [f.path for f in listed][-3:] == ["主要工作经历[].起止时间", "主要工作经历[].单位及职务", "个人陈述"]

    template = tmp_path / "申请表.docx"
    template.write_bytes(data)
    lay = layout(Form("c", "f", schema["title"], "", schema, template, {}))
    assert {a.how for a in lay.anchors.values()} == {LABEL}
    assert lay.anchors["姓名"].where.text() == "第1个表格第1行第2格"
    assert lay.anchors["姓名_2"].where.text() == "第1个表格第4行第4格"
    assert lay.locators["讲授课程数"].kind == "cell_below"
    assert lay.anchors["指导学生数"].where.text() == "第2个表格第2行第2格"  # the value under its header
    assert lay.locators["个人陈述"].kind == "heading_paras"
    assert lay.blank_rows == {"主要工作经历": 3}
    assert [f.path for f in schema_fields(schema)] == list(lay.anchors)
    assert lay.unmatched == () and lay.problems == ()


def test_a_label_with_no_field_is_named(tmp_path):
    data = plain_docx()
    schema, _ = scaffold(data, "申请表.docx")
    del schema["properties"]["所在单位"]
    schema["required"].remove("所在单位")
    template = tmp_path / "申请表.docx"
    template.write_bytes(data)
    lay = layout(Form("c", "f", schema["title"], "", schema, template, {}))
    assert [(p.label, p.describe()) for p in lay.unmatched] == [("所在单位", "第1个表格第2行第2格")]


def test_a_plain_workbook_becomes_a_schema(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.title = "申报汇总"
    thin = Side(style="thin")
    ws["A1"] = "专业建设项目汇总表"
    ws.merge_cells("A1:E1")
    ws["A2"], ws["D2"] = "填报单位：", "填报日期："
    ws.merge_cells("B2:C2")
    ws["A3"] = "是否含中外合作项目："
    ws["B3"] = "□是　□否"
    for c, text in enumerate(["序号", "专业名称", "专业代码", "在校生数", "负责人"], start=1):
        ws.cell(4, c, text)
        for r in range(5, 9):
            ws.cell(r, c).border = Border(left=thin, right=thin, top=thin, bottom=thin)
    buf = io.BytesIO()
    wb.save(buf)
    schema, _ = scaffold(buf.getvalue(), "汇总表.xlsx")
    p = schema["properties"]
    assert list(p) == ["填报单位", "填报日期", "是否含中外合作项目", "表格1"]
    assert p["填报日期"]["format"] == "date" and p["是否含中外合作项目"]["enum"] == ["是", "否"]
    assert list(p["表格1"]["items"]["properties"]) == ["专业名称", "专业代码", "在校生数", "负责人"]
    assert p["表格1"]["items"]["properties"]["在校生数"]["type"] == "integer"
    template = tmp_path / "汇总表.xlsx"
    template.write_bytes(buf.getvalue())
    lay = layout(Form("c", "f", schema["title"], "", schema, template, {}))
    assert {a.how for a in lay.anchors.values()} == {LABEL}
    assert lay.locators["填报单位"].cell == "B2" and lay.locators["表格1[].负责人"].cell == "E4"
    assert (lay.sheet, lay.header_row, lay.blank_rows) == ("申报汇总", 4, {"表格1": 4})


def test_scaffold_reads_only_word_and_excel_documents():
    from service.forms.scaffold import ScaffoldError

    with pytest.raises(ScaffoldError, match="只能从 .docx 或 .xlsx"):
        scaffold(b"%PDF-1.4", "申请表.pdf")
    with pytest.raises(ScaffoldError, match="无法读取"):
        scaffold(b"not a zip", "申请表.docx")
