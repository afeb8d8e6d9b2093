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
    assert result.output.count("通过") == 3


def test_forms_check_fails_when_a_template_loses_an_anchor(catalog, tmp_path):
    form = catalog.form("jth-2020", "recommendation_letter")
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(form.template_path) as src, zipfile.ZipFile(broken, "w") as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "word/document.xml":
                data = data.replace(b'w:val="contact_email"', b'w:val="contact_mail"')
            dst.writestr(item, data)
    clone = type(form)(form.campaign_id, form.id, form.title, form.annex, form.schema, broken, form.settings)
    problems = check_form(clone)
    assert any("contact_email" in p and "没有内容控件" in p for p in problems)
    assert any("contact_mail" in p and "不对应任何字段" in p for p in problems)


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
