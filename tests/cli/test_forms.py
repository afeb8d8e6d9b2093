"""The ``flask forms`` commands other tools depend on."""

from __future__ import annotations

import json
import zipfile

from service.render.check import check_form
from tests.support.samples import sample


def test_forms_list(runner):
    result = runner.invoke(args=["forms", "list"])
    assert result.exit_code == 0
    assert "recommendation_letter" in result.output and "教职成司函〔2020〕33号" in result.output


def test_forms_check_passes_on_the_shipped_templates(runner):
    result = runner.invoke(args=["forms", "check"])
    assert result.exit_code == 0, result.output
    assert result.output.count("：通过") == 3
    # field by field: how it is anchored, by which label, where
    assert "group_name（集团名称）：内容控件，标签“集团名称”（第1个表格第1行第2格）" in result.output
    assert "recommender（推荐单位）：定义名称，标签“推荐单位（盖章）：”（工作表“推荐名单汇总表”C3单元格）" in result.output
    quiet = runner.invoke(args=["forms", "check", "ln-2018", "-q"])
    assert quiet.exit_code == 0 and quiet.output.strip() == "ln-2018/work_summary（省级示范性职业教育集团办学工作总结，docx）：通过"


def clone_with(form, path, replace: dict[bytes, bytes]):
    """The form with a copy of its template, edited as an operator might have."""
    with zipfile.ZipFile(form.template_path) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                for old, new in replace.items():
                    data = data.replace(old, new)
            dst.writestr(item, data)
    return type(form)(form.campaign_id, form.id, form.title, form.annex, form.schema, path, form.settings)


def test_forms_check_names_a_control_that_names_no_field(catalog, tmp_path):
    form = catalog.form("jth-2020", "recommendation_letter")
    clone = clone_with(form, tmp_path / "typo.docx", {b'w:val="contact_email"': b'w:val="contact_mail"'})
    problems = check_form(clone)
    assert any("contact_mail" in p and "不对应任何字段" in p for p in problems)


def test_forms_check_fails_when_a_field_has_no_place(catalog, tmp_path):
    form = catalog.form("jth-2020", "recommendation_letter")
    # the control and its expression gone, and its label reworded: nothing leads to the field any more
    clone = clone_with(form, tmp_path / "gone.docx", {b'w:val="contact_email"': b'w:val="x"',
                                                      b"{{ contact_email|paras }}": b"",
                                                      "电子邮箱".encode(): "邮件".encode()})
    problems = check_form(clone)
    assert any(p.startswith("字段 contact_email（联系人邮箱）在模板中没有找到") and "标签为“联系人邮箱”" in p
               for p in problems), problems


def test_forms_check_finds_a_field_by_its_label_when_its_anchor_is_gone(catalog, tmp_path):
    form = catalog.form("jth-2020", "recommendation_letter")
    schema = json.loads(json.dumps(form.schema))
    schema["properties"]["contact_email"]["x-label"] = "电子邮箱"
    plain = clone_with(form, tmp_path / "plain.docx", {b'w:val="contact_email"': b'w:val="x"',
                                                       b"{{ contact_email|paras }}": b""})
    clone = type(form)(form.campaign_id, form.id, form.title, form.annex, schema, plain.template_path, form.settings)
    from service.render.check import inspect_form

    report = inspect_form(clone)
    how = {path: text for path, _title, text in report.fields}
    assert how["contact_email"] == "标签，标签“电子邮箱”（第4个表格第3行第2格）"
    assert not any("contact_email" in p for p in report.problems)


def test_forms_scaffold_refuses_what_it_cannot_read(runner, tmp_path):
    doc = tmp_path / "form.doc"
    doc.write_bytes(b"\xd0\xcf\x11\xe0 legacy")
    result = runner.invoke(args=["forms", "scaffold", str(doc)])
    assert result.exit_code != 0 and "另存为 .docx" in result.output and result.exception.__class__ is SystemExit
    empty = tmp_path / "empty.docx"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("word/document.xml", '<w:document xmlns:w="http://schemas.openxmlformats.org/'
                    'wordprocessingml/2006/main"><w:body><w:p/></w:body></w:document>')
    result = runner.invoke(args=["forms", "scaffold", str(empty)])
    assert result.exit_code != 0 and "没有找到“标签 + 空白处”的栏目" in result.output


def test_forms_scaffold_writes_the_schema_to_the_screen(runner):
    """Scaffolded from the shipped 汇总表 itself (its labels beside blank cells): the schema on standard output."""
    from tests.support.samples import ROOT

    result = runner.invoke(args=["forms", "scaffold", str(ROOT / "templates" / "xlsx" / "summary_table.xlsx")])
    assert result.exit_code == 0, result.output
    schema = json.loads(result.stdout)
    assert schema["title"] == "示范性职业教育集团（联盟）推荐名单汇总表"
    assert schema["properties"]["填表日期"]["format"] == "date"
    assert schema["properties"]["联系方式"]["pattern"].startswith("^((0")


def test_forms_render_from_json_and_entity(runner, tmp_path):
    data = tmp_path / "rec.json"
    data.write_text(json.dumps(sample("recommendation_letter"), ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out.docx"
    result = runner.invoke(args=["forms", "render", "jth-2020", "recommendation_letter", "--data", str(data), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:2] == b"PK"
    result = runner.invoke(args=["forms", "render", "ln-2018", "work_summary", "--entity", "all", "-o", str(tmp_path / "ln")])
    assert result.exit_code == 0 and len(list((tmp_path / "ln").iterdir())) == 14


def test_forms_render_refuses_invalid_data(runner, tmp_path):
    data = tmp_path / "bad.json"
    data.write_text('{"founded": "去年"}', encoding="utf-8")
    result = runner.invoke(args=["forms", "render", "jth-2020", "recommendation_letter", "--data", str(data),
                                 "-o", str(tmp_path / "x.docx")])
    assert result.exit_code != 0 and "FIELD_PATTERN" in result.output
    assert not (tmp_path / "x.docx").exists()


def test_forms_check_says_when_the_boxes_and_the_choices_differ(tmp_path):
    from docx import Document

    from service.forms.catalog import Form

    doc = Document()
    table = doc.add_table(rows=1, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "运行模式", "□理事会制　□董事会制"
    doc.save(tmp_path / "plain.docx")
    schema = {"type": "object", "properties": {"mode": {"type": "string", "title": "运行模式", "enum": ["理事会", "董事会"]}}}
    problems = check_form(Form("c", "f", "表", "", schema, tmp_path / "plain.docx", {}))
    assert problems == ["字段 mode（运行模式）的选项与模板不一致：模板中是“理事会制、董事会制”，JSON Schema 的 enum 是“理事会、董事会”；请改成一样的"]
    schema["properties"]["mode"]["enum"] = ["理事会制", "董事会制"]
    assert check_form(Form("c", "f", "表", "", schema, tmp_path / "plain.docx", {})) == []
