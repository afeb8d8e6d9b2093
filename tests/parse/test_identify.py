"""Identification on its own: which form a returned document is, by its stamp or else by what it shows."""

from __future__ import annotations

import io
import zipfile

import docx

from service.forms.catalog import catalog
from service.forms.stamp import Stamp
from service.office.docx import DocxDocument, read_docx
from service.office.xlsx import read_xlsx
from service.parse.identify import identify, record_identity
from service.problems.report import ParseResult
from service.render.form import render
from tests.support import docx_edit as de
from tests.support.samples import CAMPAIGN_OF, sample


def opened(form_id: str, fn=None, *, drop_stamp: bool = False) -> DocxDocument:
    """A rendered form as the parser reads it (optionally edited on its XML, or without its stamp)."""
    content = render(CAMPAIGN_OF[form_id], form_id, sample(form_id)).content
    if fn is not None or drop_stamp:
        content = de.edit(content, fn or (lambda root: None), drop_stamp=drop_stamp)
    return read_docx(zipfile.ZipFile(io.BytesIO(content)))


def test_a_form_as_issued_is_known_by_its_stamp():
    form, by, note = identify(opened("recommendation_letter"), catalog(), "jth-2020")
    assert (form.id, by, note) == ("recommendation_letter", "stamp", None)
    content = render("jth-2020", "summary_table", sample("summary_table")).content
    book = read_xlsx(content, zipfile.ZipFile(io.BytesIO(content)))
    form, by, note = identify(book, catalog(), None)
    assert (form.id, by, note) == ("summary_table", "stamp", None)


def test_without_stamp_and_controls_the_form_is_known_by_its_title_and_labels():
    for form_id in ("recommendation_letter", "work_summary"):
        form, by, note = identify(opened(form_id, de.unwrap_controls, drop_stamp=True), catalog(), None)
        assert (form.id, by, note.code) == (form_id, "structure", "FORM_INFERRED")
        assert note.severity == "info"


def test_a_stamp_the_content_contradicts_loses_to_the_content():
    doc = opened("recommendation_letter")
    doc.custom = dict(opened("work_summary").custom)  # a 推荐书 pasted into a downloaded 工作总结 file
    form, by, note = identify(doc, catalog(), None)
    assert (form.id, by, note.code) == ("recommendation_letter", "structure", "FORM_STAMP_MISMATCH")


def test_a_form_of_another_campaign_is_named_and_refused():
    form, by, note = identify(opened("work_summary"), catalog(), "jth-2020")
    assert (form.id, by, note.code, note.severity) == ("work_summary", "stamp", "FORM_WRONG_CAMPAIGN", "error")
    form, by, note = identify(opened("work_summary", drop_stamp=True), catalog(), "jth-2020")
    assert (form.id, by, note.code) == ("work_summary", "structure", "FORM_WRONG_CAMPAIGN")


def test_a_document_of_no_known_form_lists_the_forms_expected():
    d = docx.Document()
    d.add_paragraph("会议纪要")
    d.add_paragraph("今天开会讨论了工作安排。")
    out = io.BytesIO()
    d.save(out)
    form, _by, note = identify(read_docx(zipfile.ZipFile(io.BytesIO(out.getvalue()))), catalog(), "jth-2020")
    assert form is None and note.code == "FORM_UNKNOWN"
    assert "推荐书" in note.message and "工作总结" not in note.message


def test_the_stamp_gives_the_result_its_entity_and_an_outdated_version_is_noted():
    doc = opened("recommendation_letter")
    old = Stamp("jth-2020", "recommendation_letter", "0.9.0", "edu-ln", "abc")
    doc.custom = old.properties()
    form, by, note = identify(doc, catalog(), None)
    result = ParseResult(file="推荐书.docx")
    record_identity(result, doc, form, by, note)
    assert (result.form, result.schema_version, result.entity, result.issuance) == (
        "recommendation_letter", "0.9.0", "edu-ln", "abc")
    assert [p.code for p in result.problems] == ["FORM_VERSION"]
