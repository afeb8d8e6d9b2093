"""Generated documents in a real office suite (LibreOffice headless): PDF, re-save, legacy .doc.

These are the facts the parser relies on: values visible in the PDF, no text duplicated by a re-save,
the identity stamp surviving a re-save and a .doc round trip.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook

from service.forms.catalog import catalog
from service.forms.dates import shown_record
from service.render.form import render
from tests.support.records import custom_props
from tests.support.samples import CAMPAIGN_OF, pdf_text, sample, soffice_convert

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
DOCX_FORMS = ["recommendation_letter", "work_summary"]


def body_text(content: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        root = etree.fromstring(zf.read("word/document.xml"))
    return "\n".join("".join(t.text or "" for t in p.iter(W + "t")) for p in root.iter(W + "p"))


def leaf_values(record: dict) -> list[str]:
    out: list[str] = []
    for value in record.values():
        if isinstance(value, list):
            for item in value:
                out.extend(leaf_values(item) if isinstance(item, dict) else [str(item)])
        elif value not in ("", None):
            out.extend(str(value).split("\n"))
    return out


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, tuple[Path, dict]]:
    folder = tmp_path_factory.mktemp("rendered")
    out = {}
    for form_id, campaign in CAMPAIGN_OF.items():
        record = sample(form_id)
        done = render(campaign, form_id, record)
        path = folder / f"{form_id}.{done.filename.rsplit('.', 1)[1]}"
        path.write_bytes(done.content)
        # the document shows dates the official way (2012年5月), the record keeps ISO 8601 (2012-05)
        out[form_id] = (path, shown_record(catalog().form(campaign, form_id).fields, record))
    return out


def test_every_prefilled_value_shows_in_the_pdf(rendered, tmp_path, lo_profile):
    pdfs = soffice_convert([p for p, _ in rendered.values()], "pdf", tmp_path, lo_profile)
    for (form_id, (_, record)), pdf in zip(rendered.items(), pdfs, strict=True):
        text = "".join(pdf_text(pdf).split())
        for value in leaf_values(record):
            wanted = "".join(unicodedata.normalize("NFKC", value).split())
            # a value wrapped inside a table cell interleaves with its neighbours in extracted text
            in_order = ".{0,40}".join(map(re.escape, wanted))
            assert wanted in text or re.search(in_order, text), f"{form_id}: {value!r} not in the PDF"
        if form_id == "recommendation_letter":
            assert "附件2" in text and "示范性职业教育集团(联盟)推荐书" in text
            assert "成立时间2012年5月" in text and "2020年11月16日" in text and "2012-05" not in text


def test_pdf_pages_are_a4(rendered, tmp_path, lo_profile):
    import subprocess

    pdfs = soffice_convert([rendered["recommendation_letter"][0]], "pdf", tmp_path, lo_profile)
    info = subprocess.run(["pdfinfo", str(pdfs[0])], capture_output=True, check=True, text=True).stdout
    assert "pts (A4)" in info


@pytest.mark.parametrize("form_id", DOCX_FORMS)
def test_libreoffice_resave_duplicates_no_text_and_keeps_the_stamp(rendered, tmp_path, lo_profile, form_id):
    path, record = rendered[form_id]
    original = path.read_bytes()
    (saved,) = soffice_convert([path], "docx:MS Word 2007 XML", tmp_path, lo_profile)
    before, after = body_text(original), body_text(saved.read_bytes())
    for value in leaf_values(record):
        assert after.count(value) == before.count(value), f"{value!r} appears {after.count(value)} times after re-save"
    assert custom_props(saved.read_bytes())["jth.issuance"] == custom_props(original)["jth.issuance"]


@pytest.mark.parametrize("form_id", DOCX_FORMS)
def test_stamp_survives_a_doc_round_trip(rendered, tmp_path, lo_profile, form_id):
    path, _ = rendered[form_id]
    (doc,) = soffice_convert([path], "doc", tmp_path / "doc", lo_profile)
    (back,) = soffice_convert([doc], "docx:MS Word 2007 XML", tmp_path / "back", lo_profile)
    props = custom_props(back.read_bytes())
    assert props["jth.form"] == form_id and props["jth.issuance"] == custom_props(path.read_bytes())["jth.issuance"]


def test_xlsx_resave_keeps_stamp_names_and_validations(rendered, tmp_path, lo_profile):
    path, record = rendered["summary_table"]
    (saved,) = soffice_convert([path], "xlsx:Calc MS Excel 2007 XML", tmp_path, lo_profile)
    wb = load_workbook(saved)
    assert wb["_meta"].sheet_state in ("hidden", "veryHidden")
    meta = {r[0]: r[1] for r in wb["_meta"].iter_rows(min_row=2, values_only=True)}
    assert meta["jth.form"] == "summary_table"
    assert {"recommender", "rows.rank", "rows.contact_phone"} <= set(wb.defined_names)
    ws = wb["推荐名单汇总表"]
    assert ws["B6"].value == record["rows"][0]["group_name"] and ws["H6"].value == "0416-4198001"
    assert ws["D6"].value == "2012年5月" and ws["H4"].value == "2020年11月20日"  # still text, not made dates
    assert any(dv.type == "list" for dv in ws.data_validations.dataValidation)
