"""A new campaign from data only: an operator writes a campaign file, a list of its own and the rules the notice
asks for, in a folder of their own, and the service renders its form, reads a filled copy back and tells what is
wrong in the words the data gives — no code.

The campaign (jth-2021) reuses the shipped 推荐书 template under a name of its own (with digits), excludes the
groups of its own 第二批名单, and asks for three things the 2020 call did not: a group founded before the notice was
issued (a date rule), no more schools among the members than members in all (a comparison of two fields), and a
contact's title when the group is not a legal person (a field required by another's value).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from service.forms.catalog import Catalog, load_catalog
from service.parse.pipeline import parse
from service.problems.report import ParseResult
from service.render.form import render
from service.validate.rules import document_rules
from tests.support.records import letter
from tests.support.samples import ROOT

ISSUED, DEADLINE = "2021-09-01", "2021-10-15"
ON_TIME = dt.datetime(2021, 10, 10, 9, tzinfo=dt.UTC)
SECOND_BATCH = {
    "title": "第二批名单",
    "source": "教职成司函〔2021〕8号 附件",
    "groups": [{"seq": 1, "name": "辽宁石油化工职业教育集团", "lead_units": ["辽宁石化职业技术学院"]},
               {"seq": 2, "name": "大连装备制造职业教育集团", "lead_units": ["大连职业技术学院"]}],
}
MESSAGES = {
    "excluded": "“{name}”已入选{list}（第{seq}号），本次不再推荐，{fix}",
    "founded": "集团应在通知印发前成立：“{title}”填写的是 {value}，应{relation}{against}。",
    "schools": "“{title}”（{value}）不能多于“{other}”（{limit}）。",
    "contact": "不具有法人资格的集团（“{other}”为“{equals}”）须填写“{title}”。",
    "members": "“{title}”只列主要的 {max} 家，填写了 {count} 家。",
}
CAMPAIGN = {
    "id": "jth-2021",
    "title": "第三批示范性职业教育集团（联盟）培育单位推荐",
    "document_number": "教职成司函〔2021〕12号",
    "issuer": "教育部职业教育与成人教育司",
    "issued": ISSUED,
    "deadline": DEADLINE,
    "timezone": "Asia/Shanghai",
    "contacts": [{"unit": "教育部职成司", "name": "王敏", "phones": ["010-66097741"]}],
    "recommender_types": [{"id": "provincial", "label": "省级教育行政部门", "quota": 4},
                          {"id": "planned_city", "label": "计划单列市教育行政部门", "quota": 2},
                          {"id": "hzw", "label": "行业职业教育教学指导委员会", "quota": 2}],
    "submitters": "recommenders",
    "submitter_label": "推荐单位",
    "excluded_groups": ["second_batch_groups"],
    "texts": {"basis": "教职成司函〔2021〕12号（第三批）"},
    "messages": {"GROUP_FIRST_BATCH": MESSAGES["excluded"]},
    "forms": [{
        "id": "recommendation_letter", "annex": "附件1", "title": "示范性职业教育集团（联盟）推荐书",
        "schema": "recommendation_letter.schema.json", "template": "docx/recommendation_letter_2021.docx",
        "one_per": "group",
        "entity": {"source": "recommenders", "prefill": {"recommender": "name", "recommender_type": "type_label"}},
    }],
    "rules": {
        "excluded_group_fields": {"recommendation_letter": ["group_name"]},
        "compare": [
            {"form": "recommendation_letter", "field": "founded", "op": "<", "campaign_date": "issued",
             "message": MESSAGES["founded"]},
            {"form": "recommendation_letter", "field": "members_school", "op": "<=", "other": "members_total",
             "message": MESSAGES["schools"]},
        ],
        "required_if": [{"form": "recommendation_letter", "field": "contact_title", "if_field": "legal_person",
                         "equals": "否", "message": MESSAGES["contact"]}],
        "count": [{"form": "recommendation_letter", "field": "members", "max": 3, "message": MESSAGES["members"]}],
    },
}


@pytest.fixture(scope="module")
def installation(tmp_path_factory) -> Path:
    """An installation holding only the new campaign: its data files, the schema and a copy of the template."""
    root = tmp_path_factory.mktemp("jth-2021")
    for folder in ("data/schemas", "data/reference", "data/campaigns", "schemas", "templates/docx"):
        (root / folder).mkdir(parents=True)
    for name in ("campaign.schema.json", "reference.schema.json"):
        shutil.copy(ROOT / "data/schemas" / name, root / "data/schemas" / name)
    shutil.copy(ROOT / "data/reference/recommenders.json", root / "data/reference/recommenders.json")
    shutil.copy(ROOT / "schemas/recommendation_letter.schema.json", root / "schemas/recommendation_letter.schema.json")
    shutil.copy(ROOT / "templates/docx/recommendation_letter.docx",
                root / "templates/docx/recommendation_letter_2021.docx")
    (root / "data/reference/second_batch_groups.json").write_text(json.dumps(SECOND_BATCH, ensure_ascii=False),
                                                                  encoding="utf-8")
    (root / "data/campaigns/jth-2021.json").write_text(json.dumps(CAMPAIGN, ensure_ascii=False, indent=2),
                                                       encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def cat(installation) -> Catalog:
    return load_catalog(installation)


def _checked(cat: Catalog, record: dict) -> ParseResult:
    result = ParseResult(file="推荐书.docx", campaign="jth-2021", form="recommendation_letter", record=record)
    document_rules(result, cat.form("jth-2021", "recommendation_letter"), cat, ON_TIME)
    return result


def _said(result: ParseResult) -> dict[str, list[tuple[str, str]]]:
    out: dict[str, list[tuple[str, str]]] = {}
    for p in result.problems:
        out.setdefault(p.code, []).append((p.path, p.message))
    return out


def test_the_campaign_is_what_its_data_says(cat):
    campaign = cat.campaign("jth-2021")
    assert list(cat.campaigns) == ["jth-2021"]
    assert campaign.basis == "教职成司函〔2021〕12号（第三批）"
    assert campaign.excluded_lists == ["second_batch_groups"] and cat.list_title("second_batch_groups") == "第二批名单"
    assert [(t["label"], t["quota"]) for t in campaign.data["recommender_types"]] == [
        ("省级教育行政部门", 4), ("计划单列市教育行政部门", 2), ("行业职业教育教学指导委员会", 2)]
    assert cat.unit("edu-ln") == ("recommenders", cat.entity("recommenders", "edu-ln"))


def test_a_letter_that_breaks_each_rule_is_told_so_in_the_words_of_the_data(cat):
    members = letter()["members"] + [{"name": "大连港集团", "type": "企业"}]
    record = letter(group_name="大连装备制造职业教育集团", founded="2021-09", members_school=120, contact_title="",
                    members=members)
    said = _said(_checked(cat, record))
    assert said["GROUP_FIRST_BATCH"] == [("group_name", "“大连装备制造职业教育集团”已入选第二批名单（第2号），本次不再推荐，请从推荐名单中删除。")]
    assert said["RULE_COMPARE"] == [
        ("founded", "集团应在通知印发前成立：“成立时间”填写的是 2021-09，应早于通知印发日期 2021-09-01。"),
        ("members_school", "“成员单位数（学校）”（120）不能多于“成员单位总数”（93）。"),
    ]
    assert said["RULE_REQUIRED_IF"] == [("contact_title", "不具有法人资格的集团（“是否具有法人资格”为“否”）须填写“联系人职务”。")]
    assert said["RULE_COUNT"] == [("members", "“成员单位名单”只列主要的 3 家，填写了 4 家。")]


def test_a_letter_within_every_rule_passes_and_a_month_is_not_refused_for_what_a_day_in_it_allows(cat):
    other = "辽宁冶金职业教育集团"  # on no list of this campaign
    assert _checked(cat, letter(group_name=other)).status == "accepted"
    assert "RULE_COMPARE" not in _said(_checked(cat, letter(group_name=other, founded="2021-08")))
    assert "RULE_COMPARE" in _said(_checked(cat, letter(group_name=other, founded="2021-09-01")))  # the day itself


def test_rendered_filled_and_read_back_the_new_campaigns_letter_gets_the_datas_messages(cat):
    record = letter(group_name="辽宁石油化工职业教育集团", founded="2022-03", members_school=95)
    rendered = render("jth-2021", "recommendation_letter", record, "edu-ln", cat=cat)
    assert rendered.stamp.campaign == "jth-2021" and rendered.stamp.schema_version == "1.0.0"
    result = parse(rendered.content, rendered.filename, campaign="jth-2021", received_at=ON_TIME, cat=cat)
    assert (result.campaign, result.form, result.identified_by) == ("jth-2021", "recommendation_letter", "stamp")
    assert result.record["founded"] == "2022-03" and result.record["members_school"] == 95
    said = _said(result)
    assert said["GROUP_FIRST_BATCH"][0][1].startswith("“辽宁石油化工职业教育集团”已入选第二批名单（第1号）")
    messages = dict(said["RULE_COMPARE"])
    assert messages["founded"].startswith("集团应在通知印发前成立：“成立时间”填写的是 2022-03")
    assert messages["members_school"] == "“成员单位数（学校）”（95）不能多于“成员单位总数”（93）。"
    late = parse(rendered.content, rendered.filename, campaign="jth-2021", cat=cat,
                 received_at=dt.datetime(2021, 10, 16, 1, tzinfo=dt.UTC))
    assert any(p.code == "SUBMISSION_LATE" and DEADLINE in p.message for p in late.problems)
