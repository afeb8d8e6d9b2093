"""The marked copy a unit downloads: each problem, each reviewer's decision and the message of a return as a Word
comment spanning the value it is about (or an Excel cell comment), checked in the file and in LibreOffice."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import update

from service.actions.actor import Actor
from service.actions.intake import receive
from service.actions.marked_copy import marked_copy
from service.actions.return_for_changes import return_for_changes
from service.actions.review import decide
from service.render.form import render
from service.store.auth import create_user
from service.store.models import ReviewDecision, Submission
from tests.support import docx_edit as de
from tests.support.comments import comment_spans
from tests.support.records import ON_TIME, letter
from tests.support.samples import ROOT, sample, soffice_convert

TITLE = "示范性职业教育集团（联盟）推荐书"
DECIDED_AT = dt.datetime(2020, 11, 17, 18, 30)  # stored in UTC: 02:30 on 18 November in Beijing
RETURN_NOTE = "成员单位总数与各类之和不符，请核对后重新报送。"
ARTIFACTS = ROOT / "test-artifacts" / "marked-copy"
ADMIN = Actor("admin", "admin")


def one(found: dict[str, str], start: str) -> tuple[str, str]:
    hits = [(text, span) for text, span in found.items() if text.startswith(start) or start in text]
    assert len(hits) == 1, (start, list(found))
    return hits[0]


def _receive(store, content: bytes, name: str, at: dt.datetime = ON_TIME["jth-2020"]) -> int:
    return receive(store, content, name, campaign_id="jth-2020", recommender_id="edu-ln", uploader="t",
                   received_at=at).submission_id


def _copy(store, submission_id: int) -> tuple[bytes, str]:
    with store.session() as s:
        return marked_copy(store, s.get(Submission, submission_id))


@pytest.fixture
def reviewed(store) -> int:
    """A 推荐书 with a sum that does not add up (a problem), a 成立时间 “12.05” (two-digit year) that a reviewer
    corrected, sent back to its unit with a message."""
    with store.session.begin() as s:
        create_user(s, "reviewer", "Jth-复核-2020-长密码", "admin", display_name="王审核")
    content = de.edit(render("jth-2020", "recommendation_letter", letter(founded="12.05", members_total=90)).content,
                      lambda r: de.set_text(de.right_of(r, "手机"), "1390416"))  # typed over the control
    sub_id = _receive(store, content, "推荐书.docx")
    decide(store, sub_id, "founded", "correct", "reviewer", value="2012-05", note="按成立文件核对")
    with store.session.begin() as s:
        s.execute(update(ReviewDecision).where(ReviewDecision.submission_id == sub_id).values(created_at=DECIDED_AT))
    assert return_for_changes(store, sub_id, ADMIN, RETURN_NOTE) == "returned"
    return sub_id


def test_each_comment_spans_the_value_it_is_about(store, reviewed):
    data, name = _copy(store, reviewed)
    assert name == "批注-推荐书.docx"
    found = comment_spans(data)
    text, span = one(found, "【成员单位总数】")
    assert "SUM_MISMATCH" in text and span == "90"  # the value in its content control, not a point after it
    text, span = one(found, "【联系人手机】")
    assert "FIELD_PATTERN" in text and span == "1390416"  # typed in the cell after the control was deleted
    text, span = one(found, "复核结论")
    assert text == "复核结论：2012年5月（王审核，2020年11月18日）按成立文件核对" and span == "12.05"
    text, span = one(found, "退回修改")
    assert text == f"退回修改：{RETURN_NOTE}" and span == TITLE


def test_the_marked_copy_in_libreoffice_keeps_each_comment_on_its_value(store, reviewed, tmp_path, lo_profile):
    data, _ = _copy(store, reviewed)
    path = tmp_path / "批注-推荐书.docx"
    path.write_bytes(data)
    (saved,) = soffice_convert([path], "docx:MS Word 2007 XML", tmp_path / "resaved", lo_profile)
    again = comment_spans(saved.read_bytes())  # LibreOffice read the ranges and wrote them back around the same text
    assert one(again, "【成员单位总数】")[1] == "90" and one(again, "复核结论")[1] == "12.05"
    assert one(again, "退回修改")[1] == TITLE

    pdf = soffice_convert([path], 'pdf:writer_pdf_Export:{"ExportNotes":{"type":"boolean","value":"true"}}',
                          tmp_path / "pdf", lo_profile)[0]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", str(pdf), str(ARTIFACTS / "letter")],
                   check=True)
    assert (ARTIFACTS / "letter-1.png").stat().st_size > 0
    page = PdfReader(pdf).pages[0]
    notes = {str(a.get_object().get("/Contents")): a.get_object()["/Rect"] for a in page.get("/Annots", [])
             if a.get_object().get("/Subtype") == "/Text"}
    height = float(page.mediabox.height)
    for start, value in (("复核结论", "12.05"), ("退回修改", "推荐书"), ("【成员单位总数】", "90")):
        rect = next(r for text, r in notes.items() if text.startswith(start))
        top, bottom = _line_of(pdf, value)
        assert height - float(rect[3]) < bottom and height - float(rect[1]) > top, (start, value)  # on its line


def _line_of(pdf: Path, word: str) -> tuple[float, float]:
    """yMin, yMax (from the top of the page) of the first word on page 1 that contains ``word``."""
    xml = subprocess.run(["pdftotext", "-bbox", "-f", "1", "-l", "1", str(pdf), "-"], check=True,
                         capture_output=True).stdout
    root = etree.fromstring(xml, etree.XMLParser(recover=True))
    for w in root.iter("{http://www.w3.org/1999/xhtml}word"):
        if word in (w.text or ""):
            return float(w.get("yMin")), float(w.get("yMax"))
    raise AssertionError(f"{word!r} not on page 1")


def test_a_document_level_decision_is_on_the_title(store):
    late = dt.datetime(2020, 11, 25, 10, tzinfo=dt.UTC)  # the deadline was 2020-11-23
    sub_id = _receive(store, render("jth-2020", "recommendation_letter", letter()).content, "逾期推荐书.docx", late)
    decide(store, sub_id, "#SUBMISSION_LATE", "accept", "admin", note="因系统故障延误，同意受理")
    with store.session.begin() as s:
        s.execute(update(ReviewDecision).where(ReviewDecision.submission_id == sub_id).values(created_at=DECIDED_AT))
    found = comment_spans(_copy(store, sub_id)[0])
    text, span = one(found, "复核结论")
    assert text == "复核结论：予以接受“逾期报送”（admin，2020年11月18日）因系统故障延误，同意受理" and span == TITLE
    assert not any(t.startswith("退回修改") for t in found)  # not returned: no such comment


def test_the_summary_table_gets_cell_comments(store):
    rows = sample("summary_table")["rows"]
    rows[0]["founded"] = "13.09"
    rows[1]["contact_phone"] = "12345"
    content = render("jth-2020", "summary_table", dict(sample("summary_table"), rows=rows)).content
    sub_id = _receive(store, content, "汇总表.xlsx")
    decide(store, sub_id, "rows.0.founded", "correct", "admin", value="2013-09")
    with store.session.begin() as s:
        s.execute(update(ReviewDecision).where(ReviewDecision.submission_id == sub_id).values(created_at=DECIDED_AT))
    return_for_changes(store, sub_id, ADMIN, "联系电话有误，请更正。")
    data, name = _copy(store, sub_id)
    assert name == "批注-汇总表.xlsx"
    ws = load_workbook(io.BytesIO(data))["推荐名单汇总表"]
    assert ws["D6"].comment.text == "复核结论：2013年9月（admin，2020年11月18日）"
    assert not ws["D6"].fill.fgColor.rgb.endswith("FFFF00")  # a decision is not a problem
    assert "FIELD_PATTERN" in ws["H7"].comment.text and ws["H7"].fill.fgColor.rgb.endswith("FFFF00")
    assert ws["A2"].value == "示范性职业教育集团（联盟）推荐名单汇总表"
    assert ws["A2"].comment.text == "退回修改：联系电话有误，请更正。"
