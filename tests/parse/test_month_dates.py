"""Dates known only to the month, as people write them: a 印发日期 “2010年5月” in the Liaoning 工作总结's table of
policy documents, a 成立时间 “2009年6月” in the 推荐书. Typed into the issued forms in LibreOffice, they are read
as ISO months, not flagged, and written the official way again in the marked-up forms and the exports."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from service.actions.intake import receive
from service.forms.catalog import catalog
from service.outputs.exports import export_records
from service.parse.normalize import normalize
from service.parse.pipeline import parse
from service.render.form import render
from service.validate.schema import check_record
from tests.support.office_fill import fill_in_office
from tests.support.records import ON_TIME, letter
from tests.support.samples import sample

POLICY_ROWS = [
    ["关于成立辽宁装备制造职业教育集团的通知", "辽教发〔2010〕8号", "2010年5月"],
    ["辽宁装备制造职教集团章程", "", "2010.5"],
    ["辽宁装备制造职教集团理事会议事规则", "", "2010-05"],
    ["辽宁装备制造职教集团2011年工作要点", "辽装职教〔2011〕1号", "2011年3月8日"],
]


@pytest.fixture(scope="module")
def filled(tmp_path_factory, lo_profile):
    """The 工作总结 of 辽宁装备制造职教集团 and a 推荐书, issued complete but for the dates a person types in."""
    folder = tmp_path_factory.mktemp("month-dates")
    summary = dict(sample("work_summary"), policy_documents=[])
    (folder / "ws.docx").write_bytes(render("ln-2018", "work_summary", summary, "ln-08").content)
    (folder / "rec.docx").write_bytes(render("jth-2020", "recommendation_letter", letter(founded=None)).content)
    fill_in_office([
        {"src": folder / "ws.docx", "outputs": [{"path": folder / "工作总结.docx", "filter": "MS Word 2007 XML"}],
         "fills": [{"table": ["文件名称", "文号", "印发日期"], "rows": POLICY_ROWS, "delete_extra": True}]},
        {"src": folder / "rec.docx", "outputs": [{"path": folder / "推荐书.docx", "filter": "MS Word 2007 XML"}],
         "fills": [{"label": "成立时间", "value": "2009年6月"}]},
    ], lo_profile)
    return folder


def test_an_issue_date_known_to_the_month_is_read_as_a_month(filled):
    result = parse((filled / "工作总结.docx").read_bytes(), "工作总结.docx", received_at=ON_TIME["ln-2018"])
    issued = [d.get("issued") for d in result.record["policy_documents"]]
    assert issued == ["2010-05", "2010-05", "2010-05", "2011-03-08"]
    assert not [p for p in result.problems if "issued" in p.path], [p.message for p in result.problems]
    assert result.status == "accepted", [p.message for p in result.problems]
    notes = {f.path: f.note for f in result.fields}
    assert notes["policy_documents.1.issued"] == "“2010.5”按 2010-05 读取"  # the report says how it was read
    assert notes["policy_documents.0.issued"] == ""  # written the official way: nothing to say


def test_a_group_founded_in_a_month_is_read_as_a_month(filled):
    result = parse((filled / "推荐书.docx").read_bytes(), "推荐书.docx", received_at=ON_TIME["jth-2020"])
    assert result.record["founded"] == "2009-06"
    assert not [p for p in result.problems if p.path == "founded"]


def test_the_exports_write_the_month_as_officials_do(filled, store):
    got = receive(store, (filled / "工作总结.docx").read_bytes(), "工作总结.docx", campaign_id="ln-2018",
                  recommender_id="ln-08", uploader="tester", received_at=ON_TIME["ln-2018"])
    assert got.status == "needs_review"  # for the policy documents' files, to be attached; not for the dates
    wb = openpyxl.load_workbook(io.BytesIO(export_records(store, "ln-2018", "xlsx", ("needs_review",))))
    ws = wb[next(n for n in wb.sheetnames if n.endswith("政策文件目录"))]
    header, *rows = [[c.value for c in row] for row in ws.iter_rows()]
    column = header.index("印发日期")
    assert [r[column] for r in rows] == ["2010年5月", "2010年5月", "2010年5月", "2011年3月8日"]
    main = wb.worksheets[0]
    head = [c.value for c in main[1]]
    assert main.cell(row=2, column=head.index("报送日期") + 1).value == "2018年6月1日"


@pytest.mark.parametrize("typed", ["2010年5月", "2010.5", "2010-05", "2010/5", "二〇一〇年五月", "２０１０年５月"])
def test_the_ways_a_month_is_written(typed):
    issued = next(f for f in catalog().form("ln-2018", "work_summary").fields if f.path == "policy_documents[].issued")
    norm = normalize(issued, typed)
    assert (norm.value, norm.flag) == ("2010-05", "")


def test_a_month_is_valid_where_a_month_may_be_written_and_not_where_a_day_is_asked():
    form = catalog().form("ln-2018", "work_summary")
    record = dict(sample("work_summary"), policy_documents=[{"title": "集团章程", "issued": "2010-05"}])
    assert check_record(form, record) == []
    wrong = check_record(form, dict(record, submit_date="2018-06"))  # 报送日期 is a day
    assert [(p.path, p.code) for p in wrong] == [("submit_date", "FIELD_FORMAT")]
    day_field = next(f for f in form.fields if f.path == "submit_date")
    assert normalize(day_field, "2018年6月").value == "2018年6月"  # left as typed, for the schema to say why


def test_a_month_typed_where_a_spreadsheet_keeps_numbers(catalog):
    founded = next(f for f in catalog.form("jth-2020", "summary_table").fields if f.path == "rows[].founded")
    assert normalize(founded, 2010.5).value == "2010-05"  # “2010.5” typed into a number cell
    assert normalize(founded, dt.date(2010, 5, 18)).value == "2010-05-18"
