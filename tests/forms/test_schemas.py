"""Every form schema is valid draft 2020-12, versioned, titled in Chinese, and constrains what users expect."""

from __future__ import annotations

import re

import pytest
from jsonschema import Draft202012Validator

from service.forms.catalog import FORMAT_CHECKER
from service.validate.schema import check_record
from tests.support.samples import CAMPAIGN_OF, sample

CJK = re.compile(r"[\u4e00-\u9fff]")


def _walk(spec: dict, path: str = ""):
    yield path, spec
    for key, sub in spec.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{key}" if path else key)
    if isinstance(spec.get("items"), dict):
        yield from _walk(spec["items"], path + "[]")


@pytest.mark.parametrize("form_id", list(CAMPAIGN_OF))
def test_schema_is_valid_and_documented(catalog, form_id):
    form = catalog.form(CAMPAIGN_OF[form_id], form_id)
    Draft202012Validator.check_schema(form.schema)
    assert form.schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert form.schema["$id"].endswith(f"/{form_id}/{form.version}")
    for path, spec in _walk(form.schema):
        assert CJK.search(spec.get("title", "")), f"{path} has no Chinese title"
        assert spec.get("description"), f"{path} has no description"


@pytest.mark.parametrize("form_id", list(CAMPAIGN_OF))
def test_sample_record_is_valid(catalog, form_id):
    assert check_record(catalog.form(CAMPAIGN_OF[form_id], form_id), sample(form_id)) == []


def test_letter_constraints_catch_what_people_get_wrong(catalog):
    form = catalog.form("jth-2020", "recommendation_letter")
    record = sample("recommendation_letter") | {
        "recommender_type": "省教育厅",
        "legal_person": "有",
        "members_school": -1,
        "contact_mobile": "1390416123",
        "contact_email": "not-an-email",
        "founded": "2012年5月",
        "governance": "字" * 1501,
    }
    del record["group_name"]
    codes = {(p.path, p.code) for p in check_record(form, record)}
    assert codes == {
        ("recommender_type", "FIELD_ENUM"), ("legal_person", "FIELD_ENUM"), ("members_school", "FIELD_RANGE"),
        ("contact_mobile", "FIELD_PATTERN"), ("contact_email", "FIELD_FORMAT"), ("founded", "FIELD_PATTERN"),
        ("governance", "FIELD_TOO_LONG"), ("group_name", "FIELD_REQUIRED"),
    }
    problems = {p.path: p for p in check_record(form, record)}
    assert problems["legal_person"].message == "“是否具有法人资格”只能填写以下选项之一：是、否"
    assert problems["group_name"].title == "集团名称"


def test_summary_rank_starts_at_one_and_rows_are_bounded(catalog):
    form = catalog.form("jth-2020", "summary_table")
    record = sample("summary_table")
    record["rows"][0]["rank"] = 0
    problems = check_record(form, record)
    assert [(p.path, p.code, p.title) for p in problems] == [("rows.0.rank", "FIELD_RANGE", "推荐排序")]
    record["rows"] = record["rows"] * 3
    assert "FIELD_TOO_MANY" in {p.code for p in check_record(form, record)}


def test_work_summary_sections_are_bounded_to_5000(catalog):
    form = catalog.form("ln-2018", "work_summary")
    for key in form.settings["counted_fields"]:
        assert form.schema["properties"][key]["maxLength"] == 5000


def _variants(record: dict) -> list[dict]:
    """The sample and records each broken in one way the schemas care about."""
    out = [record]
    for key, value in record.items():
        if isinstance(value, str):
            out += [{**record, key: value + "x" * 5000}, {**record, key: 12}, {**record, key: "2020-02-30"},
                    {**record, key: "a@b"}, {**record, key: ""}]
        elif isinstance(value, bool) or isinstance(value, int):
            out += [{**record, key: -1}, {**record, key: 1.0}, {**record, key: True}, {**record, key: "12"}]
        elif isinstance(value, list):
            out += [{**record, key: []}, {**record, key: value * 500}, {**record, key: [{"x": 1}]}]
        out.append({k: v for k, v in record.items() if k != key})
    out.append({**record, "extra": 1})
    return out


@pytest.mark.parametrize("form_id", ["recommendation_letter", "summary_table", "work_summary"])
def test_the_verdict_and_the_problems_agree(catalog, form_id):
    """A record is valid exactly when the draft 2020-12 validator says so, and then no problem is reported; an
    invalid one always gets at least one Chinese problem (never a silent rejection, never a silent acceptance)."""
    form = next(c.forms[form_id] for c in catalog.campaigns.values() if form_id in c.forms)
    for record in _variants(sample(form_id)):
        valid = not list(Draft202012Validator(form.schema, format_checker=FORMAT_CHECKER).iter_errors(record))
        assert form.is_valid(record) == valid == (check_record(form, record) == []), record
