"""A shipped template opened and saved again in LibreOffice still checks and renders.

A plain open-and-save in LibreOffice 7.4 (Debian 12) drops every content control's tag and writes the quotes inside
a template expression as entities (``boxes(&apos;legal_person&apos;)``); LibreOffice 25 (Debian 13) keeps the tags.
Both are tested on every machine: the re-save as this machine's LibreOffice leaves it, and the same files with the
tags taken out and the quotes written as entities, as 7.4 leaves them. The controls and their expressions stay: the
service tags the controls again from the fields their expressions name, reads the expressions as they were written,
and the forms render exactly as from the shipped templates.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook

from service.render.form import render
from tests.support.samples import CAMPAIGN_OF, ROOT, sample, soffice_convert

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TEMPLATES = {"recommendation_letter": "docx/recommendation_letter.docx", "work_summary": "docx/work_summary.docx",
             "summary_table": "xlsx/summary_table.xlsx"}


@pytest.fixture(scope="module")
def resaved(tmp_path_factory, lo_profile) -> Path:
    """The service's data in a folder of its own, every template re-saved by LibreOffice in its own format."""
    root = tmp_path_factory.mktemp("resaved")
    for part in ("data", "schemas", "templates"):
        shutil.copytree(ROOT / part, root / part)
    out = root / "saved"
    docx = [ROOT / "templates" / TEMPLATES[f] for f in ("recommendation_letter", "work_summary")]
    saved = soffice_convert(docx, "docx:MS Word 2007 XML", out / "docx", lo_profile)
    saved += soffice_convert([ROOT / "templates" / TEMPLATES["summary_table"]], "xlsx:Calc MS Excel 2007 XML",
                             out / "xlsx", lo_profile)
    for path in saved:
        shutil.copy(path, root / "templates" / path.parent.name / path.name)
    return root


def _as_74_leaves_it(path: Path) -> None:
    """A re-saved .docx made what LibreOffice 7.4 leaves: no control tags, quotes in the text written as entities."""
    with zipfile.ZipFile(path) as zf:
        parts = {name: zf.read(name) for name in zf.namelist()}
    root = etree.fromstring(parts["word/document.xml"])
    for tag in list(root.iter(W + "tag")):
        tag.getparent().remove(tag)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    head, _, body = xml.partition(b"?>")
    parts["word/document.xml"] = head + b"?>" + body.replace(b"'", b"&apos;")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)


@pytest.fixture(scope="module")
def untagged(tmp_path_factory, resaved) -> Path:
    """The re-saved data as LibreOffice 7.4 would have left the Word templates."""
    root = tmp_path_factory.mktemp("untagged")
    for part in ("data", "schemas", "templates"):
        shutil.copytree(resaved / part, root / part)
    for form in ("recommendation_letter", "work_summary"):
        _as_74_leaves_it(root / "templates" / TEMPLATES[form])
    return root


@pytest.fixture(params=["resaved", "untagged"])
def tree(request) -> tuple[str, Path]:
    return request.param, request.getfixturevalue(request.param)




def controls(content: bytes) -> dict[str, list[str]]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        root = etree.fromstring(zf.read("word/document.xml"))
    out: dict[str, list[str]] = {}
    for sdt in root.iter(W + "sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag")
        text = "".join(e.text or "" if e.tag == W + "t" else "\n" for e in sdt.iter(W + "t", W + "br"))
        out.setdefault(tag.get(W + "val") if tag is not None else "", []).append(text)
    return out


def test_a_resave_keeps_the_controls_and_their_expressions(resaved, untagged):
    """The situation the service must cope with, as LibreOffice leaves it (and as 7.4 did)."""
    with zipfile.ZipFile(resaved / "templates" / TEMPLATES["recommendation_letter"]) as zf:
        xml = zf.read("word/document.xml")
    assert b"<w:sdt>" in xml
    assert (b"{{ legal_person|boxes(&apos;legal_person&apos;) }}" in xml
            or b"{{ legal_person|boxes('legal_person') }}" in xml)
    with zipfile.ZipFile(untagged / "templates" / TEMPLATES["recommendation_letter"]) as zf:
        xml = zf.read("word/document.xml")
    assert b"<w:sdt>" in xml and b"w:tag" not in xml
    assert b"{{ legal_person|boxes(&apos;legal_person&apos;) }}" in xml


def test_every_resaved_template_passes_the_check(cli, tree):
    kind, root = tree
    result = cli.invoke(args=["forms", "check", "--root", str(root)])
    assert result.exit_code == 0, result.output
    assert result.output.count("：通过") == 3, result.output
    how = "模板表达式" if kind == "untagged" or "w:tag" not in _document_xml(root) else "内容控件"
    assert f"legal_person（是否具有法人资格）：{how}，标签“是否具有法人资格”（第1个表格第3行第4格）" in result.output
    assert "rows[].rank（推荐排序）：定义名称，标签“推荐排序”" in result.output
    assert "- 问题：" not in result.output and "- 提示：" not in result.output


def _document_xml(root: Path) -> str:
    with zipfile.ZipFile(root / "templates" / TEMPLATES["recommendation_letter"]) as zf:
        return zf.read("word/document.xml").decode("utf-8")


@pytest.mark.parametrize("form_id", list(TEMPLATES))
def test_a_resaved_template_renders_as_the_shipped_one(cli, tree, form_id, tmp_path):
    resaved = tree[1]
    data = tmp_path / "record.json"
    data.write_text(json.dumps(sample(form_id), ensure_ascii=False), encoding="utf-8")
    out = tmp_path / f"out.{TEMPLATES[form_id][:4]}"
    result = cli.invoke(args=["forms", "render", CAMPAIGN_OF[form_id], form_id, "--root", str(resaved),
                              "--data", str(data), "-o", str(out)])
    assert result.exit_code == 0, result.output
    shipped = render(CAMPAIGN_OF[form_id], form_id, sample(form_id)).content
    if form_id == "summary_table":
        ours, theirs = load_workbook(out).worksheets[0], load_workbook(io.BytesIO(shipped)).worksheets[0]
        assert [[c.value for c in row] for row in ours.iter_rows(max_row=12)] == \
            [[c.value for c in row] for row in theirs.iter_rows(max_row=12)]
        return
    texts = controls(out.read_bytes())
    assert texts == controls(shipped)  # every field in its tagged control, with the same text
    if form_id == "recommendation_letter":
        assert texts["legal_person"] == ["☐是　☑否"] and texts["members[].name"][0] == "辽宁石化职业技术学院"


def test_a_broken_expression_fails_the_check_in_chinese(cli, resaved, tmp_path):
    root = tmp_path / "broken"
    shutil.copytree(resaved, root)
    path = root / "templates" / TEMPLATES["recommendation_letter"]
    with zipfile.ZipFile(path) as zf:
        parts = [(i, zf.read(i.filename)) for i in zf.infolist()]
    with zipfile.ZipFile(path, "w") as zf:
        for info, data in parts:
            if info.filename == "word/document.xml":
                data = data.replace(b"{{ features|paras }}", b"{{ features|paras }")
            zf.writestr(info, data)
    result = cli.invoke(args=["forms", "check", "jth-2020", "recommendation_letter", "--root", str(root), "-q"])
    assert result.exit_code == 1
    assert "模板中的表达式有语法错误" in result.output and "{{ features|paras }" in result.output
    assert "Traceback" not in result.output
    result = cli.invoke(args=["forms", "render", "jth-2020", "recommendation_letter", "--root", str(root),
                              "-o", str(tmp_path / "x.docx")])
    assert result.exit_code == 1 and "模板有误" in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert not (tmp_path / "x.docx").exists()
