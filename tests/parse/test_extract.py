"""Extraction on its own: where each field's raw value is found in a returned document, and how."""

from __future__ import annotations

import io
import zipfile

from openpyxl import load_workbook

from service.forms.catalog import catalog
from service.forms.layout import layout
from service.office.docx import read_docx
from service.office.xlsx import read_xlsx
from service.parse.extract.docx import extract_docx, repeated_unit
from service.parse.extract.found import CONTENT_CONTROL, DEFINED_NAME, HEADER, LABEL, NOT_FOUND
from service.parse.extract.xlsx import extract_xlsx
from service.render.form import render
from tests.support import docx_edit as de
from tests.support.samples import CAMPAIGN_OF, sample


def letter_found(content: bytes | None = None, fn=None):
    """What extraction finds in a 推荐书 (as rendered from the sample, optionally edited on its XML)."""
    content = content or render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content
    if fn is not None:
        content = de.edit(content, fn)
    doc = read_docx(zipfile.ZipFile(io.BytesIO(content)))
    return extract_docx(doc, layout(catalog().form("jth-2020", "recommendation_letter")))


def table_found(edit=None):
    """What extraction finds in a 汇总表, optionally edited with openpyxl first."""
    content = render("jth-2020", "summary_table", sample("summary_table")).content
    if edit is not None:
        wb = load_workbook(io.BytesIO(content))
        edit(wb)
        out = io.BytesIO()
        wb.save(out)
        content = out.getvalue()
    book = read_xlsx(content, zipfile.ZipFile(io.BytesIO(content)))
    return extract_xlsx(book, layout(catalog().form(CAMPAIGN_OF["summary_table"], "summary_table")))


def test_a_value_is_found_by_its_content_control_with_its_place():
    found = letter_found().scalars["group_name"]
    assert (found.how, found.raw) == (CONTENT_CONTROL, "辽宁石油化工职业教育集团")
    assert found.where.text() == "第1个表格第1行第2格"


def test_without_controls_values_are_found_by_their_labels_and_headers():
    extracted = letter_found(fn=de.unwrap_controls)
    group, total = extracted.scalars["group_name"], extracted.scalars["members_total"]
    assert (group.how, group.raw) == (LABEL, "辽宁石油化工职业教育集团")  # the cell right of 集团名称
    assert (total.how, total.raw) == (HEADER, "93")  # the cell under 合计
    members = extracted.arrays["members"]
    assert [m["name"].raw for m in members][:2] == ["辽宁石化职业技术学院", "中国石油抚顺石化公司"]
    assert extracted.array_how["members"][0] == HEADER


def test_a_label_typed_into_a_value_cell_is_not_read_as_a_value_nor_as_the_place_of_one():
    def pasted_label(root):
        de.unwrap_controls(root)
        de.set_text(de.right_of(root, "集团名称"), "成立时间")
    extracted = letter_found(fn=pasted_label)
    assert extracted.scalars["group_name"].how == NOT_FOUND and not extracted.scalars["group_name"].raw
    assert extracted.scalars["founded"].raw == "2012年5月"  # still right of the real 成立时间


def test_a_value_typed_after_its_label_in_the_same_cell_is_found():
    def typed_in_label_cell(root):
        de.unwrap_controls(root)
        de.set_text(de.cells_by_label(root, "集团名称")[0], "集团名称：辽宁化工职业教育集团")
        de.set_text(de.right_of(root, "集团名称：辽宁化工职业教育集团"), "")
    found = letter_found(fn=typed_in_label_cell).scalars["group_name"]
    assert (found.how, found.raw) == (LABEL, "辽宁化工职业教育集团")


def test_a_value_written_several_times_over_is_known_by_the_text_it_repeats():
    assert repeated_unit("张晓明张晓明张晓明") == "张晓明"
    assert repeated_unit("张晓明") is None and repeated_unit("哈哈哈哈") is None  # a unit of one character is text


def test_a_workbook_value_is_found_by_its_defined_name_else_by_its_label():
    named = table_found().scalars["recommender"]
    assert (named.how, named.raw, named.where.ref) == (DEFINED_NAME, "辽宁省教育厅", "C3")

    def without_names(wb):
        for name in list(wb.defined_names):
            del wb.defined_names[name]
    labelled = table_found(without_names)
    assert (labelled.scalars["recommender"].how, labelled.scalars["recommender"].raw) == (LABEL, "辽宁省教育厅")
    rows = labelled.arrays["rows"]
    assert [r["group_name"].raw for r in rows] == [r["group_name"] for r in sample("summary_table")["rows"]]
    assert rows[1]["group_name"].where.ref == "B7"


def test_the_form_sheet_is_found_by_its_labels_when_renamed():
    def renamed(wb):
        wb["推荐名单汇总表"].title = "Sheet1"
    extracted = table_found(renamed)
    assert extracted.sheet == "Sheet1" and extracted.scalars["filled_by"].raw == "李红"
