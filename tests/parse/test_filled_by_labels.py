"""tests/support/lo_fill.py: a person fills a generated form in LibreOffice by its visible labels and saves it.

All jobs of this module run in ONE soffice process (module fixture `filled`); only the failure test
starts a second one.
"""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook

from service.render.form import render
from tests.support.office_fill import fill_in_office

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SOURCES = {
    "rec.docx": ("jth-2020", "recommendation_letter", "edu-ln"),
    "ws.docx": ("ln-2018", "work_summary", "ln-08"),
    "sum.xlsx": ("jth-2020", "summary_table", "edu-ln"),
}
WRITER_FILTERS = {"docx": "MS Word 2007 XML", "doc": "MS Word 97", "odt": "writer8"}
CALC_FILTERS = {"xlsx": "Calc MS Excel 2007 XML", "xls": "MS Excel 97", "ods": "calc8"}

REC_FILLS = [
    {"label": "集团名称", "value": "辽宁测试装备制造职教集团"},
    {"label": "成立时间", "value": "2015-06-01"},
    {"label": "是否具有法人资格", "value": "否"},
    {"label": "服务面向", "value": "装备制造业\n现代服务业"},
    {"label": "学校", "value": "12", "below": True},
    {"label": "合计", "value": "40", "below": True},
    {"table": ["成员单位名称", "单位类型"], "rows": [["甲机床有限公司", "企业"], ["乙职业技术学院", "学校"]],
     "delete_extra": True},
    {"label": "姓名", "value": "张三"},
    {"label": "电子邮箱", "value": "zhangsan@example.cn"},
    {"heading": "（一）治理结构", "value": "设立理事会。\n实行章程管理。"},
    {"append_in_cell": "推荐单位", "value": "（盖章）"},
]
WS_FILLS = [
    {"label": "联系人", "value": "李四"},
    {"label": "联系电话", "value": "024-12345678"},
    {"heading": "1. 多元主体共建与服务区域发展", "value": "第一段。\n第二段。"},
    {"heading": "（三）政策意见和建议", "value": "建议加大支持。"},
    {"table": ["文件名称", "文号", "印发日期"],
     "rows": [[f"文件{i}", f"辽教发〔2019〕{i}号", f"2019-03-{i:02d}"] for i in range(1, 11)]},
]
SUM_FILLS = [
    {"label": "推荐单位（盖章）", "value": "辽宁省教育厅（测试）"},
    {"label": "填表人", "value": "王五"},
    {"label": "联系方式", "value": "13800000000"},
    {"label": "填表日期", "value": "2020-06-01"},
    {"table": ["推荐排序", "集团名称", "成立时间", "成员单位数", "是否具有法人资格", "联系电话"],
     "rows": [[1, "甲集团", "2015-06-01", 30, "是", "13900000000"],
              [2, "乙集团", "2016-07-01", "25", "否", "024-87654321"]]},
    {"add_sheet": "说明", "cells": {"A1": "填表说明", "B2": "其他内容"}},
]


def norm(text: str) -> str:
    text = re.sub(r"\s+", "", text)
    return text[:-1] if text.endswith(("：", ":")) else text


def outputs(folder: Path, stem: str, filters: dict[str, str]) -> list[dict]:
    return [{"path": folder / f"{stem}.{ext}", "filter": name} for ext, name in filters.items()]


@pytest.fixture(scope="module")
def filled(tmp_path_factory, lo_profile) -> Path:
    folder = tmp_path_factory.mktemp("office-fill")
    for name, (campaign, form_id, entity) in SOURCES.items():
        (folder / name).write_bytes(render(campaign, form_id, None, entity).content)
    jobs = [
        {"src": folder / "rec.docx", "fills": REC_FILLS, "outputs": outputs(folder, "rec.out", WRITER_FILTERS)},
        {"src": folder / "rec.docx", "fills": REC_FILLS[:1], "paste_into_new": True,
         "outputs": outputs(folder, "rec.pasted", {"docx": WRITER_FILTERS["docx"]})},
        {"src": folder / "ws.docx", "fills": WS_FILLS, "outputs": outputs(folder, "ws.out", WRITER_FILTERS)},
        {"src": folder / "sum.xlsx", "fills": SUM_FILLS, "outputs": outputs(folder, "sum.out", CALC_FILTERS)},
    ]
    started = time.monotonic()
    fill_in_office(jobs, lo_profile)
    print(f"fill_in_office: {time.monotonic() - started:.1f} s")
    return folder


# ------------------------------------------------------------------------------------------- docx reading


def document(path: Path):
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read("word/document.xml"))


def text(el) -> str:
    return "".join(t.text or "" for t in el.iter(W + "t"))


def paragraphs(el) -> list[str]:
    return [text(p) for p in el.iter(W + "p")]


def table_rows(root) -> list[list[list]]:
    """Top-level tables as lists of rows of w:tc elements."""
    return [[tr.findall(W + "tc") for tr in tbl.findall(W + "tr")] for tbl in root.find(W + "body").findall(W + "tbl")]


def cell_after(root, label: str, below: bool = False):
    """The w:tc right of (or below) the one cell whose text is label."""
    hits = [(rows, r, c) for rows in table_rows(root) for r, row in enumerate(rows)
            for c, tc in enumerate(row) if norm(text(tc)) == norm(label)]
    assert len(hits) == 1, f"{label!r}: {len(hits)} cells"
    rows, r, c = hits[0]
    return rows[r + 1][c] if below else rows[r][c + 1]


def table_with_header(root, header: str) -> list[list]:
    return next(rows for rows in table_rows(root) if header in [text(tc) for tc in rows[0]])


def body_after(root, heading: str) -> list[str]:
    """Texts of the two body elements after the heading paragraph."""
    items = list(root.find(W + "body"))
    i = next(i for i, el in enumerate(items) if el.tag == W + "p" and text(el) == heading)
    return [text(items[i + 1]), text(items[i + 2])]


# --------------------------------------------------------------------------------------------------- tests


def test_docx_values_land_right_of_their_labels(filled):
    root = document(filled / "rec.out.docx")
    assert paragraphs(cell_after(root, "集团名称")) == ["辽宁测试装备制造职教集团"]
    assert text(cell_after(root, "成立时间")) == "2015-06-01"
    assert text(cell_after(root, "是否具有法人资格")) == "否"
    assert paragraphs(cell_after(root, "服务面向")) == ["装备制造业", "现代服务业"]
    counts = table_with_header(root, "学校")  # "学校" is also a member's 单位类型 now: find it by its header row
    assert [text(tc) for tc in counts[1]] == ["12", "", "", "", "", "40"]
    assert text(cell_after(root, "姓名")) == "张三"
    assert text(cell_after(root, "电子邮箱")) == "zhangsan@example.cn"
    assert paragraphs(cell_after(root, "（一）治理结构", below=True)) == ["设立理事会。", "实行章程管理。"]
    assert text(cell_after(root, "（二）资源共建共享", below=True)) == ""
    # typed after the prefilled content control, in the same cell
    assert text(cell_after(root, "推荐单位")) == "辽宁省教育厅（盖章）"


def test_docx_table_rows_are_filled_and_extra_rows_deleted(filled):
    root = document(filled / "rec.out.docx")
    members = table_with_header(root, "成员单位名称")
    assert [[text(tc) for tc in row] for row in members[1:]] == [["1", "甲机床有限公司", "企业"],
                                                               ["2", "乙职业技术学院", "学校"]]


def test_work_summary_headings_and_grown_table(filled):
    root = document(filled / "ws.out.docx")
    assert text(cell_after(root, "联系人")) == "李四"
    assert text(cell_after(root, "联系电话")) == "024-12345678"
    assert body_after(root, "1. 多元主体共建与服务区域发展") == ["第一段。", "第二段。"]
    assert body_after(root, "（三）政策意见和建议")[0] == "建议加大支持。"
    docs = table_with_header(root, "文件名称")
    assert len(docs) == 11  # the template's 8 rows plus 2 inserted
    assert [text(tc) for tc in docs[10]] == ["10", "文件10", "辽教发〔2019〕10号", "2019-03-10"]


def test_xlsx_values_are_typed_into_the_right_cells(filled):
    wb = load_workbook(filled / "sum.out.xlsx")
    ws = wb["推荐名单汇总表"]
    assert ws["C3"].value == "辽宁省教育厅（测试）"
    assert ws["C4"].value == "王五"
    # typed into Text-formatted ("@") cells: stays text, no number or date conversion
    assert ws["E4"].value == "13800000000"
    assert ws["H4"].value == "2020-06-01"
    assert [[c.value for c in row] for row in ws["A6:H7"]] == [
        [1, "甲集团", None, "2015-06-01", 30, "是", None, "13900000000"],
        [2, "乙集团", None, "2016-07-01", 25, "否", None, "024-87654321"],
    ]
    assert wb.sheetnames[-1] == "说明"
    assert (wb["说明"]["A1"].value, wb["说明"]["B2"].value) == ("填表说明", "其他内容")


def test_legacy_and_open_formats_are_written(filled):
    for stem in ("rec.out.doc", "ws.out.doc", "sum.out.xls"):
        assert (filled / stem).read_bytes()[:8] == OLE_MAGIC, stem
    for stem in ("rec.out.odt", "ws.out.odt", "sum.out.ods"):
        assert zipfile.is_zipfile(filled / stem), stem


def test_paste_into_new_document_keeps_tables_but_not_properties(filled):
    path = filled / "rec.pasted.docx"
    with zipfile.ZipFile(path) as zf:
        custom = zf.read("docProps/custom.xml") if "docProps/custom.xml" in zf.namelist() else b""
    assert b"jth.campaign" not in custom
    with zipfile.ZipFile(io.BytesIO((filled / "rec.docx").read_bytes())) as zf:
        assert b"jth.campaign" in zf.read("docProps/custom.xml")  # the source had it
    root = document(path)
    assert len(table_rows(root)) == len(table_rows(document(filled / "rec.docx"))) == 6
    assert text(cell_after(root, "集团名称")) == "辽宁测试装备制造职教集团"


def test_unknown_label_fails_loudly(filled, lo_profile):
    job = {"src": filled / "rec.docx", "fills": [{"label": "不存在的标签", "value": "x"}],
           "outputs": [{"path": filled / "never.docx", "filter": WRITER_FILTERS["docx"]}]}
    with pytest.raises(AssertionError, match="不存在的标签.*not found"):
        fill_in_office([job], lo_profile)
    assert not (filled / "never.docx").exists()
