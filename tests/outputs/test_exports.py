"""Exports: the records people submitted, as xlsx / CSV / JSON, and the national 推荐名单汇总表."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re

import openpyxl
import pytest
from sqlalchemy import select

from service.actions.intake import receive
from service.forms.catalog import catalog as load_catalog
from service.outputs.exports import consolidated_summary, export_records
from service.render.form import render
from service.store.models import AuditEntry
from tests.support.records import letter_for
from tests.support.samples import sample

ON_TIME = dt.datetime(2020, 11, 20, 10, tzinfo=dt.UTC)
LATE = dt.datetime(2020, 11, 25, 10, tzinfo=dt.UTC)  # the deadline was 2020-11-23
FORMULAS = {"features": '=HYPERLINK("http://x","y")', "governance": "+1+1", "social_service": "@SUM(A1)",
            "talent_quality": "-2+3"}
DALIAN_ROW = {"rank": 1, "group_name": "大连滨海旅游职业教育联盟", "lead_units": "大连职业技术学院", "founded": "2014-03",
              "member_count": 40, "legal_person": "否", "contact_name": "赵强", "contact_phone": "0411-84830001"}


def file_form(store, form_id: str, record: dict, name: str, recommender: str, at: dt.datetime = ON_TIME) -> int:
    received = receive(store, render("jth-2020", form_id, record).content, name, campaign_id="jth-2020",
                       recommender_id=recommender, uploader="t", received_at=at)
    return received.submission_id


@pytest.fixture
def filed(store):
    """辽宁 (accepted: 汇总表 + two 推荐书, one full of formula-like text), 大连 (late), 北京 (a rejected 推荐书)."""
    summary = sample("summary_table")
    first, second = summary["rows"]
    dalian = dict(sample("summary_table"), recommender="大连市教育局", recommender_type="计划单列市教育行政部门",
                  rows=[DALIAN_ROW])
    ids = {
        "dl_letter": file_form(store, "recommendation_letter", letter_for(DALIAN_ROW, "大连市教育局", "计划单列市教育行政部门"),
                               "大连推荐书.docx", "city-dl", LATE),
        "dl_summary": file_form(store, "summary_table", dalian, "大连汇总表.xlsx", "city-dl", LATE),
        "ln_second": file_form(store, "recommendation_letter", letter_for(second, "辽宁省教育厅", "省级教育行政部门"),
                               "医药推荐书.docx", "edu-ln"),
        "ln_first": file_form(store, "recommendation_letter",
                              letter_for(first, "辽宁省教育厅", "省级教育行政部门", **FORMULAS), "石化推荐书.docx", "edu-ln"),
        "ln_summary": file_form(store, "summary_table", summary, "辽宁汇总表.xlsx", "edu-ln"),
        # 北京 recommends a group of the first batch: refused by the notice's rule (不予受理).
        "bj_rejected": file_form(store, "recommendation_letter",
                                 letter_for(dict(DALIAN_ROW, group_name="联想职业教育集团"), "北京市教育委员会",
                                            "省级教育行政部门"), "北京推荐书.docx", "edu-bj"),
    }
    return ids


def test_fixture_statuses(store, filed):
    """The fixture is what the other tests assume: 辽宁 accepted, 大连 late, 北京 rejected."""
    statuses = {k: v["status"] for k, v in _json(store, ("accepted", "late", "rejected")).items()}
    assert statuses == {"ln_first": "accepted", "ln_second": "accepted", "ln_summary": "accepted",
                        "dl_letter": "late", "dl_summary": "late", "bj_rejected": "rejected"}, statuses


def _json(store, statuses) -> dict:
    """Exported JSON entries by the fixture's names."""
    doc = json.loads(export_records(store, "jth-2020", "json", statuses))
    entries = [e for form in doc.values() for e in form]
    names = {"石化推荐书.docx": "ln_first", "医药推荐书.docx": "ln_second", "辽宁汇总表.xlsx": "ln_summary",
             "大连推荐书.docx": "dl_letter", "大连汇总表.xlsx": "dl_summary", "北京推荐书.docx": "bj_rejected"}
    return {names[e["original_name"]]: e for e in entries}


def _sheet_rows(ws) -> list[list]:
    return [[c.value for c in row] for row in ws.iter_rows()]


def test_xlsx_has_a_sheet_per_form_with_chinese_headers_and_only_accepted_records(store, filed, catalog):
    wb = openpyxl.load_workbook(io.BytesIO(export_records(store, "jth-2020", "xlsx")))
    letter = catalog.form("jth-2020", "recommendation_letter")
    summary = catalog.form("jth-2020", "summary_table")
    assert wb.sheetnames == [letter.title, f"{letter.title}-成员单位名单", summary.title, f"{summary.title}-推荐名单"]

    header, *rows = _sheet_rows(wb[letter.title])
    assert header[:4] == ["提交编号", "报送单位", "状态", "文件名"]
    assert header[4:] == [f.title for f in letter.fields if not f.array]
    assert "集团名称" in header and "成员单位总数" in header and "推荐单位意见" in header
    # Only accepted: 辽宁's two letters, not 大连's late one nor 北京's rejected one.
    assert sorted(r[0] for r in rows) == sorted([filed["ln_first"], filed["ln_second"]])
    by_group = {r[header.index("集团名称")]: dict(zip(header, r, strict=True)) for r in rows}
    shihua = by_group["辽宁石油化工职业教育集团"]
    assert shihua["报送单位"] == "辽宁省教育厅" and shihua["状态"] == "通过" and shihua["文件名"] == "石化推荐书.docx"
    assert shihua["牵头单位"] == "辽宁石化职业技术学院、中国石油抚顺石化公司"
    assert shihua["成员单位总数"] == 93  # numbers stay numbers
    submitted = letter_for(sample("summary_table")["rows"][0], "辽宁省教育厅", "省级教育行政部门", **FORMULAS)
    for f in letter.fields:
        if not f.array and f.type != "lines" and f.format not in ("date", "month"):
            assert shihua[f.title] == submitted[f.key], f.path
    # Dates as official documents write them (the record keeps 2012-05 and 2020-11-16).
    assert shihua["成立时间"] == "2012年5月" and shihua["牵头单位签章日期"] == "2020年11月16日"

    members_header, *members = _sheet_rows(wb[f"{letter.title}-成员单位名单"])
    assert members_header == ["提交编号", "报送单位", "序号", "单位名称", "单位类型"]
    assert [m[2:] for m in members if m[0] == filed["ln_first"]] == [
        [1, "辽宁石化职业技术学院", "学校"], [2, "中国石油抚顺石化公司", "企业"], [3, "辽宁省石油和化学工业协会", "行业组织"]]

    rows_header, *table = _sheet_rows(wb[f"{summary.title}-推荐名单"])
    assert rows_header[3:] == ["推荐排序", "集团名称", "牵头单位", "成立时间", "成员单位数", "是否具有法人资格", "联系人", "联系电话"]
    assert [r[4] for r in table] == ["辽宁石油化工职业教育集团", "辽宁医药卫生职业教育集团"]
    assert [r[6] for r in table] == ["2012年5月", "2013年9月"]


def test_other_statuses_are_exported_when_asked(store, filed):
    wb = openpyxl.load_workbook(io.BytesIO(export_records(store, "jth-2020", "xlsx", ("accepted", "late", "rejected"))))
    header, *rows = _sheet_rows(wb.worksheets[0])
    status = {r[0]: r[2] for r in rows}
    assert status[filed["dl_letter"]] == "逾期" and status[filed["bj_rejected"]] == "不予受理"
    assert status[filed["ln_first"]] == "通过"


def test_csv_is_one_form_in_utf8_with_bom(store, filed, catalog):
    with pytest.raises(ValueError, match="--form"):
        export_records(store, "jth-2020", "csv")
    data = export_records(store, "jth-2020", "csv", form_id="recommendation_letter")
    assert data.startswith("\ufeff".encode())
    header, *rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[:5] == ["提交编号", "报送单位", "状态", "文件名", "集团名称"] and header[-1] == "成员单位名单"
    assert len(rows) == 2
    row = dict(zip(header, next(r for r in rows if r[4] == "辽宁石油化工职业教育集团"), strict=True))
    assert row["报送单位"] == "辽宁省教育厅" and row["成员单位总数"] == "93"
    assert json.loads(row["成员单位名单"]) == sample("recommendation_letter")["members"]
    assert row["成立时间"] == "2012年5月" and row["推荐单位签章日期"] == "2020年11月20日"
    data = export_records(store, "jth-2020", "csv", form_id="summary_table").decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(data)))
    row = dict(zip(header, next(r for r in rows if r[1] == "辽宁省教育厅"), strict=True))
    assert row["填表日期"] == "2020年11月20日"
    assert [r["founded"] for r in json.loads(row["推荐名单"])] == ["2012年5月", "2013年9月"]


def test_json_holds_the_records_as_submitted(store, filed):
    entries = _json(store, ("accepted",))
    assert set(entries) == {"ln_first", "ln_second", "ln_summary"}
    assert entries["ln_summary"]["record"] == sample("summary_table")
    first = entries["ln_first"]
    assert first["record"] == letter_for(sample("summary_table")["rows"][0], "辽宁省教育厅", "省级教育行政部门", **FORMULAS)
    assert first["submitter_id"] == "edu-ln" and first["submitter"] == "辽宁省教育厅" and first["status"] == "accepted"


def test_formula_like_text_is_never_a_formula(store, filed):
    wb = openpyxl.load_workbook(io.BytesIO(export_records(store, "jth-2020", "xlsx")))
    ws = wb.worksheets[0]
    header = [c.value for c in ws[1]]
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == filed["ln_first"])
    for key, text in FORMULAS.items():
        cell = row[header.index(_title(key))]
        assert cell.data_type == "s" and cell.value == text, key
    assert not any(c.data_type == "f" for r in ws.iter_rows() for c in r)

    data = export_records(store, "jth-2020", "csv", form_id="recommendation_letter").decode("utf-8-sig")
    header, *rows = list(csv.reader(io.StringIO(data)))
    row = dict(zip(header, next(r for r in rows if r[0] == str(filed["ln_first"])), strict=True))
    for key, text in FORMULAS.items():
        assert row[_title(key)] == "'" + text, key
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)


def _title(key: str) -> str:
    return next(f.title for f in load_catalog().form("jth-2020", "recommendation_letter").fields if f.key == key)


def test_consolidated_summary_merges_every_recommenders_list_in_order(store, filed):
    wb = openpyxl.load_workbook(io.BytesIO(consolidated_summary(store, "jth-2020")))
    ws = wb.active
    assert ws["A1"].value == "示范性职业教育集团（联盟）推荐名单汇总表"
    assert "教职成司函〔2020〕33号" in ws["A2"].value and "共 2 个推荐单位、3 个集团" in ws["A2"].value
    header = [c.value for c in ws[3]]
    assert header == ["推荐单位", "推荐排序", "集团名称", "牵头单位", "成立时间", "成员单位数", "是否具有法人资格", "联系人",
                      "联系电话", "备注"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=4)]
    # 辽宁 before 大连 (the order of the recommenders list, not of arrival); rows by 推荐排序; 北京 was rejected.
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("辽宁省教育厅", 1, "辽宁石油化工职业教育集团"), ("辽宁省教育厅", 2, "辽宁医药卫生职业教育集团"),
        ("大连市教育局", 1, "大连滨海旅游职业教育联盟")]
    assert rows[0][3:9] == ["辽宁石化职业技术学院、中国石油抚顺石化公司", "2012年5月", 93, "否", "张晓明", "0416-4198001"]
    assert re.search(r"汇总日期：20\d\d年[1-9]\d?月[1-9]\d?日$", ws["A2"].value)  # no zero padding
    assert [r[9] for r in rows] == [None, None, "逾期"]
    # Printable: A4 landscape, one page wide, header repeated, 黑体 header, 仿宋 body, bordered cells.
    assert ws.page_setup.orientation == "landscape" and int(ws.page_setup.paperSize) == 9  # A4
    assert ws.page_setup.fitToWidth == 1 and ws.print_title_rows == "$3:$3"
    assert ws["A1"].font.name == "黑体" and ws["B3"].font.name == "黑体" and ws["C4"].font.name == "仿宋"
    assert all(ws.cell(row=r, column=c).border.left.style == "thin" for r in range(3, 7) for c in range(1, 11))

    only_accepted = openpyxl.load_workbook(io.BytesIO(consolidated_summary(store, "jth-2020", ("accepted",)))).active
    assert [c.value for c in only_accepted["A"][3:]] == ["辽宁省教育厅", "辽宁省教育厅"]
    with pytest.raises(LookupError, match="没有推荐名单汇总表"):
        consolidated_summary(store, "ln-2018")


def test_cli_writes_the_exports_and_audits_them(runner, store, filed, tmp_path):
    for args, name in ((["--format", "xlsx"], "数据.xlsx"), (["--format", "json"], "数据.json"),
                       (["--format", "csv", "--form", "summary_table"], "汇总表.csv"),
                       (["--consolidated"], "全国汇总表.xlsx")):
        out = tmp_path / "导出" / name
        result = runner.invoke(args=["export", "--campaign", "jth-2020", *args, "-o", str(out)])
        assert result.exit_code == 0, result.output
        assert "已导出" in result.output and out.exists()
    assert set(json.loads((tmp_path / "导出" / "数据.json").read_text(encoding="utf-8"))) == {
        "recommendation_letter", "summary_table"}
    text = (tmp_path / "导出" / "汇总表.csv").read_text(encoding="utf-8-sig")
    assert text.startswith('"提交编号","报送单位"') and "辽宁省教育厅" in text and "大连市教育局" not in text
    consolidated = openpyxl.load_workbook(tmp_path / "导出" / "全国汇总表.xlsx").active
    assert consolidated.max_row == 6

    late = tmp_path / "逾期.json"
    result = runner.invoke(args=["export", "--campaign", "jth-2020", "--format", "json", "--status", "late", "-o",
                                 str(late)])
    assert result.exit_code == 0, result.output
    assert {e["original_name"] for form in json.loads(late.read_text(encoding="utf-8")).values() for e in form} == {
        "大连推荐书.docx", "大连汇总表.xlsx"}

    result = runner.invoke(args=["export", "--campaign", "jth-2020", "--format", "csv", "-o", str(tmp_path / "x.csv")])
    assert result.exit_code != 0 and "EXPORT_FORM_REQUIRED" in result.output and "form" in result.output
    result = runner.invoke(args=["export", "--campaign", "nope", "-o", str(tmp_path / "x.xlsx")])
    assert result.exit_code != 0 and "未知的征集活动" in result.output

    with store.session() as s:
        exports = list(s.scalars(select(AuditEntry).where(AuditEntry.action == "export")))
    assert len(exports) == 5 and all(e.actor == "cli" and e.target == "campaign:jth-2020" for e in exports)
    assert {e.detail["format"] for e in exports} == {"xlsx", "json", "csv"}
