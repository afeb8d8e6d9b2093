"""The campaign rules on their own, each family once, on records as the parser hands them over.

The rules read their configuration from data/campaigns (jth-2020: the 推荐书 and 汇总表 of the national call;
ln-2018: Liaoning's 工作总结); records come from tests/data.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from service.forms.catalog import catalog
from service.problems.report import ParseResult
from service.validate.rules import RULE_KINDS, batch_rules, document_rules
from service.validate.rules.deadline import deadline_of
from service.validate.rules.recommender import recommender_of
from service.validate.wordcount import word_count
from tests.support.records import ON_TIME, letter, letter_for
from tests.support.samples import CAMPAIGN_OF, ROOT, sample


def checked(form_id: str, record: dict, *, received: dt.datetime | None = None, entity: str = "",
            file: str = "") -> ParseResult:
    """A parsed file of ``form_id`` holding ``record``, checked by the campaign's document rules."""
    campaign = CAMPAIGN_OF[form_id]
    result = ParseResult(file=file or f"{form_id}.docx", campaign=campaign, form=form_id, entity=entity,
                         record=record)
    document_rules(result, catalog().form(campaign, form_id), catalog(), received or ON_TIME[campaign])
    return result


def codes(result: ParseResult) -> list[str]:
    return [p.code for p in result.problems]


def summary(**changes) -> dict:
    record = sample("summary_table")
    record.update(changes)
    return record


def test_every_rule_kind_a_campaign_configures_has_a_check():
    for path in sorted((ROOT / "data" / "campaigns").glob("*.json")):
        configured = json.loads(Path(path).read_text(encoding="utf-8")).get("rules", {})
        assert set(configured) <= RULE_KINDS, path.name


def test_sample_records_pass_every_rule():
    for form_id in CAMPAIGN_OF:
        result = checked(form_id, sample(form_id))
        assert result.status == "accepted", [p.to_dict() for p in result.problems]


# ---- deadline ----------------------------------------------------------------------------------------------


def test_a_file_received_after_the_deadline_day_in_beijing_time_is_late():
    deadline = deadline_of(catalog().campaign("jth-2020"))
    assert deadline.isoformat() == "2020-11-23T23:59:59+08:00"
    on_the_day = checked("recommendation_letter", letter(), received=dt.datetime(2020, 11, 23, 15, tzinfo=dt.UTC))
    assert "SUBMISSION_LATE" not in codes(on_the_day)  # 23:00 in Beijing
    late = checked("recommendation_letter", letter(), received=dt.datetime(2020, 11, 24, 16, 30, tzinfo=dt.UTC))
    problem = next(p for p in late.problems if p.code == "SUBMISSION_LATE")
    assert problem.severity == "review" and "逾期 2 天" in problem.message  # 2020-11-25 00:30 in Beijing


# ---- recommender -------------------------------------------------------------------------------------------


def test_the_recommender_must_be_on_the_list_with_its_own_type():
    cat = catalog()
    assert recommender_of(cat, cat.campaign("jth-2020"), letter())["id"] == "edu-ln"
    unknown = checked("recommendation_letter", letter(recommender="辽宁省教育局"))
    problem = next(p for p in unknown.problems if p.code == "RECOMMENDER_UNKNOWN")
    assert problem.candidates == ["辽宁省教育厅"]
    wrong_type = checked("recommendation_letter", letter(recommender_type="行业职业教育教学指导委员会"))
    assert "RECOMMENDER_TYPE_MISMATCH" in codes(wrong_type)
    other_entity = checked("recommendation_letter", letter(), entity="edu-bj")  # issued to Beijing
    assert "ENTITY_MISMATCH" in codes(other_entity)


# ---- first-batch groups (the excluded list) ----------------------------------------------------------------


def test_a_first_batch_group_is_refused_and_a_near_name_asked_about():
    refused = checked("recommendation_letter", letter(group_name="北京现代制造业职业教育集团"))
    problem = next(p for p in refused.problems if p.code == "GROUP_FIRST_BATCH")
    assert problem.severity == "error" and problem.path == "group_name"
    # Worded by jth-2020's own data, the list named by its own title.
    assert problem.message == ("“北京现代制造业职业教育集团”已入围第一批示范性职业教育集团（联盟）培育单位（第一批名单第5号），"
                               "不在本次推荐范围，请从推荐名单中删除。")
    near = checked("recommendation_letter", letter(group_name="北京现代制造职业教育集团"))
    problem = next(p for p in near.problems if p.code == "GROUP_FIRST_BATCH_NEAR")
    assert problem.severity == "review" and problem.candidates == ["北京现代制造业职业教育集团"]
    rows = [dict(sample("summary_table")["rows"][0], group_name="北京现代制造业职业教育集团")]
    in_table = checked("summary_table", summary(rows=rows))
    assert [p.path for p in in_table.problems if p.code == "GROUP_FIRST_BATCH"] == ["rows.0.group_name"]


# ---- Liaoning's eligible groups ----------------------------------------------------------------------------


def test_a_work_summary_group_must_be_one_of_liaonings_fourteen_with_its_lead_school():
    record = sample("work_summary")
    outside = checked("work_summary", dict(record, group_name="大连软件服务外包职业教育集团"))
    problem = next(p for p in outside.problems if p.code == "GROUP_NOT_ELIGIBLE")
    assert "辽宁现代农业职教集团" in problem.message  # the message lists the groups that may report
    assert problem.message.startswith("“大连软件服务外包职业教育集团”不在辽宁省级示范性职业教育集团名单中。")
    wrong_lead = checked("work_summary", dict(record, lead_schools=["辽宁农业职业技术学院"]))
    assert "LEAD_SCHOOL_MISMATCH" in codes(wrong_lead)


# ---- 字数 ----------------------------------------------------------------------------------------------------


def test_word_count_counts_as_word_does():
    # 集 团 年 就 业 率 ， one each; 2020, 96%, Good, job one word each.
    assert word_count("集团2020年就业率96%，Good job") == 11


def test_the_work_summary_may_not_exceed_5000_zi_and_the_count_is_always_reported():
    record = sample("work_summary")
    within = checked("work_summary", record)
    assert "CHAR_COUNT" in codes(within) and within.metrics["char_limit"] == 5000
    long = "集团化办学取得新进展" * 260  # 2600 字 in each of two sections
    over = checked("work_summary", dict(record, part1_multi_entity=long, part2_problems=long))
    problem = next(p for p in over.problems if p.code == "TOO_MANY_CHARS")
    assert over.metrics["char_count"] > 5200 and str(over.metrics["char_count"]) in problem.message


# ---- ranking, sums, quota ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("ranks", "shown"), [([1, 3], "1、3"), ([1, 1], "1、1")])
def test_ranks_must_run_from_one_without_gaps_or_repeats(ranks, shown):
    rows = [dict(row, rank=rank) for row, rank in zip(sample("summary_table")["rows"], ranks, strict=True)]
    problem = next(p for p in checked("summary_table", summary(rows=rows)).problems if p.code == "RANK_SEQUENCE")
    assert problem.path == "rows" and shown in problem.message


def test_member_counts_must_add_up_to_the_total():
    problem = next(p for p in checked("recommendation_letter", letter(members_total=90)).problems
                   if p.code == "SUM_MISMATCH")
    assert problem.path == "members_total" and "90" in problem.message and "93" in problem.message


def test_a_planned_city_may_list_three_groups():
    rows = [dict(sample("summary_table")["rows"][0], rank=i, group_name=f"大连第{i}职业教育集团") for i in range(1, 5)]
    result = checked("summary_table", summary(recommender="大连市教育局", recommender_type="计划单列市教育行政部门",
                                              rows=rows))
    problem = next(p for p in result.problems if p.code == "QUOTA_EXCEEDED")
    assert "最多推荐 3 个" in problem.message


def test_a_province_sending_letters_for_more_than_five_groups_is_over_its_quota():
    results = [checked("recommendation_letter", letter(group_name=f"辽宁第{i}职业教育集团")) for i in range(6)]
    batch_rules(results, catalog())
    assert all("QUOTA_EXCEEDED" in codes(r) for r in results)


# ---- across a recommender's files --------------------------------------------------------------------------


def test_the_summary_table_and_the_letters_must_agree():
    table = sample("summary_table")
    first, second = table["rows"]
    files = [checked("summary_table", table, file="汇总表.xlsx"),
             checked("recommendation_letter", letter_for(first, "辽宁省教育厅", "省级教育行政部门"), file="推荐书1.docx"),
             checked("recommendation_letter", letter_for(dict(second, legal_person="否"), "辽宁省教育厅",
                                                         "省级教育行政部门"), file="推荐书2.docx"),
             checked("recommendation_letter", letter(group_name="辽宁冶金职业教育集团"), file="推荐书3.docx")]
    batch_rules(files, catalog())
    listed, agreeing, disagreeing, unranked = files
    assert [p.path for p in listed.problems if p.code == "CROSS_FORM_MISMATCH"] == ["rows.1.legal_person"]
    assert [p.path for p in disagreeing.problems if p.code == "CROSS_FORM_MISMATCH"] == ["legal_person"]
    assert agreeing.status == "accepted"
    assert "LETTER_NOT_RANKED" in codes(unranked)


def test_letters_without_their_summary_table_and_a_group_sent_twice():
    files = [checked("recommendation_letter", letter(), file="a.docx"),
             checked("recommendation_letter", letter(), file="b.docx")]
    batch_rules(files, catalog())
    for result in files:
        assert {"LIST_MISSING", "DUPLICATE_SUBMISSION"} <= set(codes(result))
