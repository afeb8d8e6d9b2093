"""Schema problems of a record read from a document, told where the person can act on them: a value outside its
bounds says the bound, a missing value in a file of an earlier version of the form says which version it is."""

from __future__ import annotations

from service.forms.catalog import catalog
from service.forms.layout import layout
from service.problems.report import FieldReport, ParseResult
from service.validate.parsed import NOT_FOUND, check_parsed
from tests.support.records import letter


def _checked(record: dict, schema_version: str, missing: str = "") -> ParseResult:
    form = catalog().form("jth-2020", "recommendation_letter")
    result = ParseResult(file="推荐书.docx", campaign=form.campaign_id, form=form.id, record=record,
                         schema_version=schema_version)
    if missing:
        result.fields.append(FieldReport(path=missing, title="电子邮箱", how=NOT_FOUND))
    check_parsed(result, form, layout(form))
    return result


def test_a_negative_count_is_told_its_minimum():
    [wrong] = _checked(letter(members_school=-5), "1.0.0").problems
    assert (wrong.path, wrong.code) == ("members_school", "FIELD_RANGE")
    assert wrong.message == "“成员单位数（学校）”数值不能小于 0"


def test_a_label_missing_from_a_file_of_an_earlier_version_is_told_the_version_not_blamed_on_the_person():
    record = {k: v for k, v in letter().items() if k != "contact_email"}
    [older] = _checked(record, "0.9.0", missing="contact_email").problems
    assert older.code == "FIELD_REQUIRED" and older.path == "contact_email"
    assert "这份文件是 0.9.0 版的表格，其中没有“电子邮箱”栏目（当前为 1.0.0 版）" in older.message
    assert "请勿删除" not in older.message
    [current] = _checked(record, "1.0.0", missing="contact_email").problems
    assert "文档中找不到“电子邮箱”栏目，请勿删除或改写模板中的栏目名称" in current.message
