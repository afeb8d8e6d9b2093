"""``flask forms parse FILE... [--json]``: the exact interface other tools call."""

from __future__ import annotations

import json

from service.render.form import render
from tests.support.records import letter
from tests.support.samples import sample

ON_TIME = "2020-11-20T10:00:00+08:00"


def write(tmp_path, name: str, content: bytes):
    path = tmp_path / name
    path.write_bytes(content)
    return str(path)


def test_valid_file_exits_0_with_json(runner, tmp_path):
    path = write(tmp_path, "推荐书.docx", render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content)
    result = runner.invoke(args=["forms", "parse", path, "--json", "--received-at", ON_TIME])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert {"campaign", "form", "entity", "record", "fields", "errors", "warnings", "status"} <= set(doc)
    assert (doc["campaign"], doc["form"], doc["status"]) == ("jth-2020", "recommendation_letter", "accepted")
    assert doc["record"]["group_name"] == "辽宁石油化工职业教育集团"
    assert doc["fields"][0]["found"] == "content_control" and doc["fields"][0]["where"]["text"]


def test_validation_errors_exit_1_with_a_chinese_report(runner, tmp_path):
    path = write(tmp_path, "推荐书.docx",
                 render("jth-2020", "recommendation_letter", letter(group_name="北京现代制造业职业教育集团")).content)
    result = runner.invoke(args=["forms", "parse", path, "--received-at", ON_TIME])
    assert result.exit_code == 1
    assert "结论：不予受理" in result.output and "[GROUP_FIRST_BATCH]" in result.output
    assert "第一批" in result.output


def test_unreadable_file_exits_2_even_next_to_good_ones(runner, tmp_path):
    good = write(tmp_path, "汇总表.xlsx", render("jth-2020", "summary_table", sample("summary_table")).content)
    bad = write(tmp_path, "坏文件.docx", b"PK\x03\x04broken")
    result = runner.invoke(args=["forms", "parse", good, bad, "--json", "--received-at", ON_TIME])
    assert result.exit_code == 2
    docs = json.loads(result.output)
    assert [d["readable"] for d in docs] == [True, False]
    assert docs[1]["errors"][0]["code"] == "ZIP_CORRUPT"


def test_files_of_one_recommender_are_checked_together(runner, tmp_path):
    table = write(tmp_path, "汇总表.xlsx", render("jth-2020", "summary_table", sample("summary_table")).content)
    first = write(tmp_path, "推荐书1.docx", render("jth-2020", "recommendation_letter", letter()).content)
    result = runner.invoke(args=["forms", "parse", table, first, "--json", "--received-at", ON_TIME])
    docs = json.loads(result.output)
    assert "RANK_NO_LETTER" in {e["code"] for e in docs[0]["errors"]}  # row 2 has no 推荐书
    assert result.exit_code == 1


def test_late_submission_is_a_warning_not_an_error(runner, tmp_path):
    path = write(tmp_path, "推荐书.docx", render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content)
    result = runner.invoke(args=["forms", "parse", path, "--json", "--received-at", "2020-12-01T09:00:00+08:00"])
    doc = json.loads(result.output)
    assert result.exit_code == 0 and doc["status"] == "needs_review"
    assert [w["code"] for w in doc["warnings"] if w["severity"] == "review"] == ["SUBMISSION_LATE"]


def test_wrong_campaign_and_bad_options(runner, tmp_path):
    path = write(tmp_path, "总结.docx", render("ln-2018", "work_summary", sample("work_summary"), "ln-08").content)
    result = runner.invoke(args=["forms", "parse", path, "--campaign", "jth-2020", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["errors"][0]["code"] == "FORM_WRONG_CAMPAIGN"
    assert runner.invoke(args=["forms", "parse", path, "--received-at", "昨天"]).exit_code == 2
    assert "未知的征集活动" in runner.invoke(args=["forms", "parse", path, "--campaign", "nope"]).output
