"""Parsing returned documents (no office suite here: edits are made on the XML the way people make them)."""

from __future__ import annotations

import copy
import datetime as dt
import io
import json
import random
import re
import tracemalloc
import zipfile

import pytest
from lxml import etree
from openpyxl import load_workbook

from service.parse.pipeline import parse
from service.render.form import render
from service.validate.rules import batch_rules
from tests.support import docx_edit as de
from tests.support.hostile import BILLION_LAUGHS, XXE
from tests.support.records import ON_TIME, clean, letter
from tests.support.samples import CAMPAIGN_OF, sample

W = de.W


def rendered(form_id: str, record: dict | None = None, entity: str | None = None) -> bytes:
    return render(CAMPAIGN_OF[form_id], form_id, record if record is not None else sample(form_id), entity).content


def parsed(content: bytes, form_id: str, name: str = "", **kw):
    kw.setdefault("received_at", ON_TIME[CAMPAIGN_OF[form_id]])
    return parse(content, name or f"{form_id}.docx", **kw)


def codes(result) -> set[str]:
    return {p.code for p in result.problems}


def field(result, path: str):
    return next(f for f in result.fields if f.path == path)


# ---- forms as issued ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", list(CAMPAIGN_OF))
def test_rendered_form_parses_back_to_the_record(form_id, catalog):
    result = parsed(rendered(form_id), form_id, f"x.{'xlsx' if form_id == 'summary_table' else 'docx'}")
    assert result.readable and result.identified_by == "stamp"
    version = catalog.form(CAMPAIGN_OF[form_id], form_id).version
    assert (result.campaign, result.form, result.schema_version) == (CAMPAIGN_OF[form_id], form_id, version)
    assert len(result.issuance) == 32
    assert clean(result.record) == clean(sample(form_id))
    assert not result.errors, [p.to_dict() for p in result.errors]
    anchored = {"content_control", "defined_name"}
    scalars = [f for f in result.fields if "." not in f.path and f.how != "header"]
    assert scalars and all(f.how in anchored | {"label"} for f in scalars)


def test_every_field_says_where_it_was_found():
    result = parsed(rendered("recommendation_letter"), "recommendation_letter")
    group = field(result, "group_name")
    assert group.how == "content_control"
    assert (group.where.part, group.where.table, group.where.row, group.where.cell) == ("table", 0, 0, 1)
    assert group.where.text() == "第1个表格第1行第2格"
    member = field(result, "members.2.type")
    assert member.value == "行业组织" and member.where.row == 3
    xlsx = parsed(rendered("summary_table"), "summary_table", "t.xlsx")
    assert field(xlsx, "recommender").where.ref == "C3"
    assert field(xlsx, "rows.1.group_name").where.ref == "B7"
    assert field(xlsx, "rows.1.group_name").where.text() == "工作表“推荐名单汇总表”B7单元格"


def test_prefilled_blank_form_is_rejected_with_every_missing_field_named():
    content = render("ln-2018", "work_summary", None, "ln-08").content
    result = parsed(content, "work_summary")
    assert result.status == "rejected"
    assert result.entity == "ln-08"
    assert result.record["group_name"] == "辽宁装备制造职教集团"
    missing = {p.path for p in result.errors if p.code == "FIELD_REQUIRED"}
    assert {"contact_name", "contact_phone", "submit_date", "part2_problems"} <= missing
    message = next(p.message for p in result.errors if p.path == "contact_name")
    assert "联系人" in message and "填写" in message


# ---- anchors lost -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form_id", ["recommendation_letter", "work_summary"])
def test_tags_dropped_by_a_resave_are_found_by_labels(form_id):
    result = parsed(de.edit(rendered(form_id), de.remove_tags), form_id)
    assert clean(result.record) == clean(sample(form_id))
    assert field(result, "contact_phone").how == "label"
    assert result.status == "accepted"


@pytest.mark.parametrize("form_id", ["recommendation_letter", "work_summary"])
def test_controls_and_stamp_removed_identified_by_structure(form_id):
    result = parsed(de.edit(rendered(form_id), de.unwrap_controls, drop_stamp=True), form_id)
    assert result.identified_by == "structure" and result.form == form_id
    assert "FORM_INFERRED" in codes(result)
    assert clean(result.record) == clean(sample(form_id))
    assert result.status == "accepted"


@pytest.mark.parametrize("form_id", ["recommendation_letter", "work_summary"])
def test_document_rebuilt_from_its_visible_text(form_id):
    result = parsed(de.rebuild_from_text(rendered(form_id)), form_id)
    assert result.identified_by == "structure" and result.entity == ""
    assert clean(result.record) == clean(sample(form_id))


# ---- what people type ---------------------------------------------------------------------------------------


def test_typed_variants_are_read_exactly():
    def typing(root):
        de.set_text(de.right_of(root, "成立时间"), "2012年5月")
        de.set_text(de.right_of(root, "牵头单位签章日期"), "二〇二〇年十一月十六日")
        de.set_text(de.right_of(root, "推荐单位签章日期"), "2020.11.20")
        de.set_text(de.right_of(root, "办公电话"), "０４１６－４１９８００１")
        de.set_text(de.right_of(root, "手机"), "139 0416 1234")
        de.set_text(de.below(root, "学校"), "２１个")
        de.set_text(de.below(root, "企业"), "六十三")
        de.set_text(de.right_of(root, "是否具有法人资格"), "是 否√")
        de.set_text(de.right_of(root, "运行模式"), "■理事会制 □董事会制 □其他")
        de.set_text(de.right_of(root, "集团名称"), "  辽宁石油化工职业教育集团 ")
        de.set_text(de.right_of(root, "牵头单位"), "辽宁石化职业技术学院、中国石油抚顺石化公司")
        de.set_text(de.right_of(root, "姓名"), "张 晓 明")  # a name spread out for alignment
        de.set_text(de.below(root, "行业组织"), "四")
    result = parsed(de.edit(rendered("recommendation_letter"), typing), "recommendation_letter")
    assert clean(result.record) == clean(sample("recommendation_letter"))
    assert field(result, "lead_unit_date").note == "“二〇二〇年十一月十六日”按 2020-11-16 读取"
    assert result.status == "accepted"


@pytest.mark.parametrize(("label", "typed", "path", "candidates"), [
    ("集团名称", "辽宁石油化工\n职业教育集团", "group_name", ["辽宁石油化工职业教育集团"]),
    ("集团名称", "辽宁石油化工 职业教育集团", "group_name", ["辽宁石油化工职业教育集团"]),
    ("牵头单位", "辽宁石化职业技术学院\u3000中国石油抚顺石化公司", "lead_units",
     [["辽宁石化职业技术学院中国石油抚顺石化公司"], ["辽宁石化职业技术学院", "中国石油抚顺石化公司"]]),
])
def test_a_blank_between_chinese_characters_is_asked_about_not_dropped(label, typed, path, candidates):
    """One name wrapped by hand, or two names with a space between them: only a person can tell."""
    content = de.edit(rendered("recommendation_letter"), lambda r: de.set_text(de.right_of(r, label), typed))
    result = parsed(content, "recommendation_letter")
    problem = next(p for p in result.problems if p.path == path)
    assert (problem.code, problem.severity, problem.candidates) == ("FIELD_UNCERTAIN", "review", candidates)
    assert path not in result.record and result.status == "needs_review"


def test_blanks_beside_latin_letters_and_chinese_shorthand_numbers_are_kept_exactly():
    def typing(root):
        de.set_text(de.right_of(root, "服务面向"), "石化产业 & 沿海经济带（SAP 中国合作）")
        de.set_text(de.below(root, "企业"), "一百二")  # colloquial 120, not 102
        de.set_text(de.below(root, "合计"), "一百五")  # 150
    result = parsed(de.edit(rendered("recommendation_letter"), typing), "recommendation_letter")
    assert result.record["service_orientation"] == "石化产业 & 沿海经济带（SAP 中国合作）"
    assert (result.record["members_enterprise"], result.record["members_total"]) == (120, 150)
    assert result.status == "accepted", result.problems


@pytest.mark.parametrize("typed", ["（二）资源共建共享\n共建共享实训基地12个。", "（二）资源共建共享：共建共享实训基地12个。"])
def test_text_typed_into_a_heading_cell_stays_out_of_the_section_above(typed):
    def typing(root):
        de.set_text(de.below(root, "（二）资源共建共享"), "")
        de.set_text(de.cells_by_label(root, "（二）资源共建共享")[0], typed)
    result = parsed(de.edit(rendered("recommendation_letter"), lambda r: (de.remove_tags(r), typing(r))),
                    "recommendation_letter")
    assert result.record["governance"] == sample("recommendation_letter")["governance"]
    assert result.record["resource_sharing"] == "共建共享实训基地12个。"


def test_text_typed_after_a_heading_paragraph_stays_out_of_the_section_above():
    def typing(root):
        for p in root.iter(W + "p"):
            if de.text_of(p) == "（三）政策意见和建议":
                p.append(de._run("：建议出台财税支持政策。"))
    content = de.edit(rendered("work_summary"), lambda r: (de.unwrap_controls(r), typing(r)))
    result = parsed(content, "work_summary")
    expected = sample("work_summary")
    assert result.record["part2_problems"] == expected["part2_problems"]
    assert result.record["part3_suggestions"].startswith("建议出台财税支持政策。")


def test_text_typed_outside_the_control_in_the_same_cell_is_kept():
    content = de.edit(rendered("recommendation_letter"), lambda r: de.append_text(de.right_of(r, "服务面向"), "及东北振兴"))
    result = parsed(content, "recommendation_letter")
    assert result.record["service_orientation"] == sample("recommendation_letter")["service_orientation"] + "及东北振兴"


def test_static_seal_text_is_not_part_of_the_opinion():
    result = parsed(de.edit(rendered("recommendation_letter"), de.unwrap_controls), "recommendation_letter")
    assert result.record["lead_unit_opinion"] == "材料真实，同意推荐。"


def test_label_found_twice_with_different_values_is_flagged_not_guessed():
    def second_copy(root):
        body = root.find(W + "body")
        p = etree.SubElement(body, W + "p")
        r = etree.SubElement(p, W + "r")
        etree.SubElement(r, W + "t").text = "集团名称：辽宁化工职业教育集团"
        body.remove(p)
        body.insert(len(body) - 1, p)
    result = parsed(de.edit(rendered("recommendation_letter"), lambda r: (de.remove_tags(r), second_copy(r))),
                    "recommendation_letter")
    assert "group_name" not in result.record
    problem = next(p for p in result.problems if p.path == "group_name")
    assert problem.code == "FIELD_AMBIGUOUS" and problem.severity == "review"
    assert set(problem.candidates) == {"辽宁石油化工职业教育集团", "辽宁化工职业教育集团"}
    assert result.status == "needs_review"


@pytest.mark.parametrize(("typed", "code", "candidates"), [
    ("☑是　☑否", "FIELD_AMBIGUOUS", ["是", "否"]),
    ("是√否", "FIELD_UNCERTAIN", ["是", "否"]),
    ("是（已登记）", "FIELD_UNCERTAIN", ["是"]),
])
def test_unclear_choice_is_flagged(typed, code, candidates):
    content = de.edit(rendered("recommendation_letter"), lambda r: de.set_text(de.right_of(r, "是否具有法人资格"), typed))
    result = parsed(content, "recommendation_letter")
    problem = next(p for p in result.problems if p.path == "legal_person")
    assert (problem.code, problem.candidates) == (code, candidates)
    assert "legal_person" not in result.record and result.status == "needs_review"


def test_count_with_words_is_flagged_with_candidate():
    content = de.edit(rendered("recommendation_letter"), lambda r: de.set_text(de.below(r, "学校"), "约21"))
    result = parsed(content, "recommendation_letter")
    problem = next(p for p in result.problems if p.path == "members_school")
    assert problem.code == "FIELD_UNCERTAIN" and problem.candidates == [21]
    assert problem.where.text() == "第2个表格第2行第1格"


def test_two_digit_year_is_flagged():
    content = de.edit(rendered("recommendation_letter"), lambda r: de.set_text(de.right_of(r, "推荐单位签章日期"), "20.11.20"))
    result = parsed(content, "recommendation_letter")
    assert next(p for p in result.problems if p.path == "recommender_date").code == "FIELD_UNCERTAIN"


def test_wrong_values_get_errors_that_say_how_to_fix_them():
    def typing(root):
        de.set_text(de.right_of(root, "电子邮箱"), "zhangxm at lnpc")
        de.set_text(de.right_of(root, "手机"), "1390416")
        de.set_text(de.below(root, "合计"), "不详")
    result = parsed(de.edit(rendered("recommendation_letter"), typing), "recommendation_letter")
    errors = {p.path: p for p in result.errors}
    assert errors["contact_email"].code == "FIELD_FORMAT"
    assert errors["contact_mobile"].code == "FIELD_PATTERN" and "手机" in errors["contact_mobile"].message
    assert errors["members_total"].code == "FIELD_TYPE" and "整数" in errors["members_total"].message
    assert errors["members_total"].where.text() == "第2个表格第2行第6格"
    assert result.status == "rejected"


def test_rows_inserted_and_deleted_in_the_members_table():
    def edit(root):
        de.remove_tags(root)
        table = de.cells_by_label(root, "成员单位名称")[0].getparent().getparent()
        rows = table.findall(W + "tr")
        table.remove(rows[-1])  # deleted an empty row
        extra = copy.deepcopy(rows[1])
        for tc, text in zip(extra.findall(W + "tc"), ["", "沈阳新增化工有限公司", "企业"], strict=True):
            de.set_text(tc, text)
        rows[3].addnext(extra)  # inserted between filled rows
        blank = copy.deepcopy(rows[5])
        rows[2].addnext(blank)  # an empty row in the middle
    result = parsed(de.edit(rendered("recommendation_letter"), edit), "recommendation_letter")
    names = [m["name"] for m in result.record["members"]]
    assert names == ["辽宁石化职业技术学院", "中国石油抚顺石化公司", "辽宁省石油和化学工业协会", "沈阳新增化工有限公司"]


def test_libreoffice_duplicated_plain_text_control_is_flagged():
    def plain_and_repeated(root):
        for sdt in root.iter(W + "sdt"):
            tag = sdt.find(f"{W}sdtPr/{W}tag")
            if tag is not None and tag.get(W + "val") == "contact_name":
                etree.SubElement(sdt.find(W + "sdtPr"), W + "text")
                sdt.find(f".//{W}t").text = "张晓明张晓明张晓明张晓明"
    result = parsed(de.edit(rendered("recommendation_letter"), plain_and_repeated), "recommendation_letter")
    problem = next(p for p in result.problems if p.path == "contact_name")
    assert problem.code == "FIELD_CORRUPTED" and "LibreOffice" in problem.message
    assert "contact_name" not in result.record and result.status == "needs_review"


# ---- workbooks ----------------------------------------------------------------------------------------------


def workbook_edit(content: bytes, fn, *, keep_meta: bool = True) -> bytes:
    wb = load_workbook(io.BytesIO(content))
    fn(wb)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_second_sheet_rows_moved_and_dates_as_date_cells():
    def edit(wb):
        ws = wb["推荐名单汇总表"]
        ws.insert_rows(7)  # a blank row between the two groups
        ws["H4"] = dt.date(2020, 11, 20)
        ws["A6"] = 1.0
        other = wb.create_sheet("说明", 0)
        other["A1"] = "填表说明：请按推荐排序填写"
    result = parsed(workbook_edit(rendered("summary_table"), edit), "summary_table", "t.xlsx")
    assert clean(result.record) == clean(sample("summary_table"))


def test_workbook_without_names_and_stamp_is_read_by_labels():
    def edit(wb):
        for name in list(wb.defined_names):
            del wb.defined_names[name]
        del wb["_meta"]
        wb.custom_doc_props.props.clear() if hasattr(wb, "custom_doc_props") else None
    result = parsed(workbook_edit(rendered("summary_table"), edit), "summary_table", "t.xlsx")
    assert result.identified_by == "structure"
    assert clean(result.record) == clean(sample("summary_table"))
    assert field(result, "recommender").how == "label"


def test_month_typed_into_a_date_cell_is_flagged():
    def edit(wb):
        wb["推荐名单汇总表"]["D6"] = dt.datetime(2012, 5, 1)
    result = parsed(workbook_edit(rendered("summary_table"), edit), "summary_table", "t.xlsx")
    problem = next(p for p in result.problems if p.path == "rows.0.founded")
    assert problem.code == "FIELD_UNCERTAIN" and problem.candidates == ["2012-05", "2012-05-01"]


def test_month_typed_as_a_number_that_lost_its_trailing_zero_is_flagged():
    def edit(wb):
        wb["推荐名单汇总表"]["D6"] = 2012.1  # what a General cell keeps of 2012.10
        wb["推荐名单汇总表"]["D7"] = 2013.09
    result = parsed(workbook_edit(rendered("summary_table"), edit), "summary_table", "t.xlsx")
    problem = next(p for p in result.problems if p.path == "rows.0.founded")
    assert problem.code == "FIELD_UNCERTAIN" and problem.candidates == ["2012-10", "2012-01"]
    assert "founded" not in result.record["rows"][0]
    assert result.record["rows"][1]["founded"] == "2013-09"


def test_a_hidden_row_and_a_formula_error_go_to_a_person():
    def edit(wb):
        ws = wb["推荐名单汇总表"]
        ws.row_dimensions[7].hidden = True
        ws["E6"] = "#DIV/0!"  # what a failed =1/0 leaves in the cell
    result = parsed(workbook_edit(rendered("summary_table"), edit), "summary_table", "t.xlsx")
    flags = {(p.code, p.path) for p in result.problems if p.severity == "review"}
    assert ("FIELD_FORMULA_ERROR", "rows.0.member_count") in flags
    assert {path for code, path in flags if code == "FIELD_HIDDEN"} == {
        f"rows.1.{key}" for key, value in sample("summary_table")["rows"][1].items() if value not in ("", None)}
    assert "member_count" not in result.record["rows"][0] and result.status == "needs_review"
    # What a reviewer can accept is the value as it would have been read, not the raw cell.
    hidden = {p.path: p.candidates for p in result.problems if p.code == "FIELD_HIDDEN"}
    assert hidden["rows.1.rank"] == [2] and hidden["rows.1.founded"] == ["2013-09"]


@pytest.mark.parametrize("changed", [False, True])
def test_a_copy_of_the_form_sheet_is_compared_not_ignored(changed):
    def edit(wb):
        copy = wb.copy_worksheet(wb["推荐名单汇总表"])
        if changed:
            copy["E6"] = 95
    result = parsed(workbook_edit(rendered("summary_table"), edit), "summary_table", "t.xlsx")
    assert clean(result.record) == clean(sample("summary_table"))
    codes_ = {p.code: p.severity for p in result.problems}
    if changed:
        assert codes_.get("SHEET_CONFLICT") == "review" and result.status == "needs_review"
    else:
        assert codes_.get("SHEET_EXTRA") == "info" and "SHEET_CONFLICT" not in codes_


def test_lead_units_on_separate_lines_of_one_cell_are_separate_units():
    def edit(wb):
        wb["推荐名单汇总表"]["C6"] = "辽宁石化职业技术学院\n中国石油抚顺石化公司"
        wb["推荐名单汇总表"]["C7"] = "辽宁医药职业学院 沈阳药科大学"
    result = parsed(workbook_edit(rendered("summary_table"), edit), "summary_table", "t.xlsx")
    assert result.record["rows"][0]["lead_units"] == "辽宁石化职业技术学院、中国石油抚顺石化公司"
    problem = next(p for p in result.problems if p.path == "rows.1.lead_units")
    assert problem.candidates == ["辽宁医药职业学院沈阳药科大学", "辽宁医药职业学院、沈阳药科大学"]


# ---- campaign rules -----------------------------------------------------------------------------------------


def test_first_batch_group_is_rejected_and_near_match_flagged():
    exact = parsed(rendered("recommendation_letter", letter(group_name="北京现代制造业职业教育集团")),
                   "recommendation_letter")
    assert "GROUP_FIRST_BATCH" in {p.code for p in exact.errors}
    near = parsed(rendered("recommendation_letter", letter(group_name="北京现代制造职业教育集团")),
                  "recommendation_letter")
    problem = next(p for p in near.problems if p.code == "GROUP_FIRST_BATCH_NEAR")
    assert problem.candidates == ["北京现代制造业职业教育集团"] and problem.severity == "review"


def test_member_counts_must_add_up():
    result = parsed(rendered("recommendation_letter", letter(members_total=90)), "recommendation_letter")
    assert "SUM_MISMATCH" in {p.code for p in result.errors}


def test_recommender_type_must_match_the_recommender():
    result = parsed(rendered("recommendation_letter", letter(recommender_type="行业职业教育教学指导委员会")),
                    "recommendation_letter")
    assert "RECOMMENDER_TYPE_MISMATCH" in {p.code for p in result.errors}


def summary(**changes) -> dict:
    record = sample("summary_table")
    record.update(changes)
    return record


def test_ranks_must_run_from_one_without_gaps():
    rows = sample("summary_table")["rows"]
    rows[1]["rank"] = 3
    result = parsed(rendered("summary_table", summary(rows=rows)), "summary_table", "t.xlsx")
    assert "RANK_SEQUENCE" in {p.code for p in result.errors}


def test_planned_city_quota_on_the_summary_table():
    rows = [dict(sample("summary_table")["rows"][0], rank=i, group_name=f"大连第{i}职业教育集团") for i in range(1, 5)]
    record = summary(recommender="大连市教育局", recommender_type="计划单列市教育行政部门", rows=rows)
    result = parsed(rendered("summary_table", record), "summary_table", "t.xlsx")
    problem = next(p for p in result.errors if p.code == "QUOTA_EXCEEDED")
    assert "最多推荐 3 个" in problem.message


def test_a_recommenders_files_are_checked_together():
    table = summary()
    first = letter()
    second = letter(group_name="辽宁医药卫生职业教育集团", lead_units=["辽宁医药职业学院"], founded="2013-09",
                    legal_person="否", contact_name="王芳", contact_mobile="13840012345",
                    members_school=10, members_enterprise=40, members_industry=2, members_research=2, members_other=1,
                    members_total=55)
    extra = letter(group_name="辽宁冶金职业教育集团")
    results = [parsed(rendered("summary_table", table), "summary_table", "汇总表.xlsx"),
               parsed(rendered("recommendation_letter", first), "recommendation_letter", "推荐书1.docx"),
               parsed(rendered("recommendation_letter", second), "recommendation_letter", "推荐书2.docx"),
               parsed(rendered("recommendation_letter", extra), "recommendation_letter", "推荐书3.docx")]
    batch_rules(results, __import__("service.forms.catalog", fromlist=["catalog"]).catalog())
    table_result, first_r, second_r, extra_r = results
    mismatch = [p for p in table_result.errors if p.code == "CROSS_FORM_MISMATCH"]
    assert [p.path for p in mismatch] == ["rows.1.legal_person"]
    assert "推荐书2.docx" in mismatch[0].message
    assert "CROSS_FORM_MISMATCH" in {p.code for p in second_r.errors}
    assert first_r.status == "accepted"
    assert "LETTER_NOT_RANKED" in {p.code for p in extra_r.errors}


def test_more_letters_than_the_quota():
    results = [parsed(rendered("recommendation_letter", letter(group_name=f"辽宁第{i}职业教育集团")),
                      "recommendation_letter") for i in range(6)]
    batch_rules(results, __import__("service.forms.catalog", fromlist=["catalog"]).catalog())
    assert all("QUOTA_EXCEEDED" in {p.code for p in r.errors} for r in results)


def test_late_submission_is_flagged_for_review():
    result = parsed(rendered("recommendation_letter"), "recommendation_letter",
                    received_at=dt.datetime(2020, 11, 24, 2, tzinfo=dt.UTC))
    assert "SUBMISSION_LATE" in codes(result) and result.status == "needs_review"
    on_deadline_day = parsed(rendered("recommendation_letter"), "recommendation_letter",
                             received_at=dt.datetime(2020, 11, 23, 15, tzinfo=dt.UTC))
    assert "SUBMISSION_LATE" not in codes(on_deadline_day)


def work_summary(**changes) -> dict:
    record = sample("work_summary")
    record.update(changes)
    return record


def test_work_summary_group_must_be_on_the_liaoning_list_with_its_lead_school():
    outside = parsed(rendered("work_summary", work_summary(group_name="大连软件服务外包职业教育集团")), "work_summary")
    assert "GROUP_NOT_ELIGIBLE" in {p.code for p in outside.errors}
    wrong_lead = parsed(rendered("work_summary", work_summary(lead_schools=["辽宁农业职业技术学院"])), "work_summary")
    assert "LEAD_SCHOOL_MISMATCH" in {p.code for p in wrong_lead.errors}


def test_work_summary_over_5000_characters_reports_the_count():
    long = "集团化办学取得新进展" * 260  # 2600 字
    result = parsed(rendered("work_summary", work_summary(part1_multi_entity=long, part2_problems=long)), "work_summary")
    assert result.metrics["char_count"] > 5000
    problem = next(p for p in result.errors if p.code == "TOO_MANY_CHARS")
    assert str(result.metrics["char_count"]) in problem.message


def test_work_summary_missing_section_is_named():
    def drop(root):
        body = root.find(W + "body")
        for p in list(body.iter(W + "p")):
            if de.text_of(p) in ("（三）政策意见和建议",) or "有关部门" in de.text_of(p):
                p.getparent().remove(p)
        de.unwrap_controls(root)
    record = work_summary(part3_suggestions="建议有关部门加大支持力度。")
    result = parsed(de.edit(rendered("work_summary", record), drop), "work_summary")
    problem = next(p for p in result.errors if p.path == "part3_suggestions")
    assert problem.code == "SECTION_MISSING" and "政策意见和建议" in problem.message


# ---- wrong files --------------------------------------------------------------------------------------------


def test_document_of_another_campaign_is_refused():
    result = parsed(rendered("work_summary"), "work_summary", campaign="jth-2020")
    assert [p.code for p in result.errors] == ["FORM_WRONG_CAMPAIGN"]
    assert result.status == "rejected"


def test_document_of_no_known_form_is_unreadable():
    import docx
    d = docx.Document()
    d.add_paragraph("会议纪要")
    d.add_paragraph("今天开会讨论了工作安排。")
    out = io.BytesIO()
    d.save(out)
    result = parsed(out.getvalue(), "recommendation_letter", "纪要.docx")
    assert not result.readable and [p.code for p in result.errors] == ["FORM_UNKNOWN"]
    assert "模板" in result.errors[0].message


def test_result_json_has_the_documented_keys():
    doc = parsed(rendered("recommendation_letter"), "recommendation_letter").to_dict()
    assert {"campaign", "form", "entity", "record", "fields", "errors", "warnings", "status"} <= set(doc)
    json.dumps(doc, ensure_ascii=False)


# ---- broken and hostile files -------------------------------------------------------------------------------


def _bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("[Content_Types].xml", b"<Types/>")
        with zf.open("word/document.xml", "w", force_zip64=True) as fh:
            for _ in range(64):
                fh.write(bytes(1 << 20))
    return out.getvalue()


def _hostile(part: str, xml: bytes, form_id: str = "recommendation_letter") -> bytes:
    return de.rezip(rendered(form_id), {part: xml})


def _macro_enabled() -> bytes:
    content = rendered("recommendation_letter")
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        types = zf.read("[Content_Types].xml").replace(
            b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml")
    data = de.rezip(content, {"[Content_Types].xml": types})
    with zipfile.ZipFile(io.BytesIO(data), "a") as zf:
        zf.writestr("word/vbaProject.bin", b"\x00" * 64)
    return data


def _encrypted() -> bytes:
    from tests.support.hostile import encrypt_ooxml
    return encrypt_ooxml(rendered("recommendation_letter"))


def _far_corner() -> bytes:
    """One cell typed at XFD1048576: the spreadsheet reader would allocate the whole rectangle (and abort)."""
    return workbook_edit(rendered("summary_table"), lambda wb: wb["推荐名单汇总表"].cell(1048576, 16384, "x"))


def _huge_document() -> bytes:
    """A document.xml of 9 MiB (a real 推荐书 has 260 KB): an lxml tree of it costs twenty times that."""
    rng = random.Random(7)

    def grow(root):
        body = root.find(W + "body")
        for _ in range(90_000):
            text = "".join(chr(0x4E00 + rng.randrange(20000)) for _ in range(30))  # not compressible like a bomb
            body.insert(0, etree.fromstring(f'<w:p xmlns:w="{W[1:-1]}"><w:r><w:t>{text}</w:t></w:r></w:p>'))
    return de.edit(rendered("recommendation_letter"), grow)


BAD_FILES = {
    "empty": (lambda: b"", "推荐书.docx", "FILE_EMPTY"),
    "text": (lambda: "这不是 Word 文件".encode() * 20, "推荐书.docx", "FILE_NOT_OFFICE"),
    "truncated": (lambda: rendered("recommendation_letter")[:4000], "推荐书.docx", "ZIP_CORRUPT"),
    "zip-bomb": (_bomb, "推荐书.docx", "ZIP_BOMB"),
    "xxe": (lambda: _hostile("word/document.xml", XXE), "推荐书.docx", "XML_HOSTILE"),
    "billion-laughs": (lambda: _hostile("word/document.xml", BILLION_LAUGHS), "推荐书.docx", "XML_HOSTILE"),
    "xlsx-xxe": (lambda: _hostile("xl/worksheets/sheet1.xml", XXE, "summary_table"), "汇总表.xlsx", "XML_HOSTILE"),
    "encrypted": (_encrypted, "推荐书.docx", "FILE_ENCRYPTED"),
    "macro": (_macro_enabled, "推荐书.docm", "FILE_MACRO"),
    "png": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(200), "扫描件.docx", "PICTURE_CORRUPT"),
    "pdf": (lambda: b"%PDF-1.7\n" + bytes(200), "推荐书.pdf", "PDF_CORRUPT"),
    "oversized": (lambda: b"PK\x03\x04" + bytes(21 * 1024 * 1024), "推荐书.docx", "FILE_TOO_LARGE"),
    "far-corner": (_far_corner, "汇总表.xlsx", "SHEET_TOO_LARGE"),
    # A DTD in a part the parser never reads (LibreOffice may, when it compiles the file), in UTF-16 or UTF-7.
    "xxe-in-styles": (lambda: _hostile("word/styles.xml", XXE), "推荐书.docx", "XML_HOSTILE"),
    "xxe-utf16-sheet": (lambda: _hostile("xl/styles.xml", XXE.decode().replace("UTF-8", "UTF-16").encode("utf-16"),
                                         "summary_table"), "汇总表.xlsx", "XML_HOSTILE"),
    "utf7-footer": (lambda: _hostile("word/settings.xml", b'<?xml version="1.0" encoding="UTF-7"?>+ADw-x/+AD4-'),
                    "推荐书.docx", "XML_HOSTILE"),
    "huge-document-xml": (_huge_document, "推荐书.docx", "XML_TOO_LARGE"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_gets_a_clear_chinese_error_with_a_stable_code(case):
    make, name, code = BAD_FILES[case]
    data = make()
    tracemalloc.start()
    result = parse(data, name, received_at=ON_TIME["jth-2020"])
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert not result.readable and result.status == "rejected"
    assert [p.code for p in result.errors] == [code]
    assert re.search(r"[\u4e00-\u9fff]{4}", result.errors[0].message)
    assert peak < 16 * 1024 * 1024 + 2 * len(data), f"parsing {case} used {peak} bytes"
    assert result.record == {}


# ---- what Word shows is what is read --------------------------------------------------------------------------


def _sym(font: str, char: str) -> etree._Element:
    r = etree.Element(W + "r")
    etree.SubElement(r, W + "sym", {W + "font": font, W + "char": char})
    return r


def _pua_run(font: str, text: str) -> etree._Element:
    r = etree.Element(W + "r")
    rpr = etree.SubElement(r, W + "rPr")
    etree.SubElement(rpr, W + "rFonts", {W + "ascii": font, W + "hAnsi": font})
    etree.SubElement(r, W + "t").text = text
    return r


@pytest.mark.parametrize(("runs", "expected"), [
    (lambda: [_sym("Wingdings 2", "F0A3"), de._run("是 "), _sym("Wingdings 2", "F052"), de._run("否")], "否"),
    (lambda: [_sym("Wingdings", "F0FE"), de._run("是 "), _sym("Wingdings", "F0A8"), de._run("否")], "是"),
    (lambda: [de._run("是"), _sym("Symbol", "F0D6"), de._run(" 否")], "是"),
    (lambda: [_pua_run("Wingdings 2", "\uf052"), de._run("是 "), _pua_run("Wingdings 2", "\uf0a3"), de._run("否")], "是"),
])
def test_ticks_inserted_from_symbol_fonts_are_read(runs, expected):
    def tick(root):
        cell = de.right_of(root, "是否具有法人资格")
        de.set_text(cell, "")
        for run in runs():
            cell.find(W + "p").append(run)
    result = parsed(de.edit(rendered("recommendation_letter"), tick), "recommendation_letter")
    assert result.record["legal_person"] == expected and result.status == "accepted", result.problems


def test_an_unknown_symbol_is_flagged_not_dropped():
    def tick(root):
        cell = de.right_of(root, "是否具有法人资格")
        de.set_text(cell, "")
        for run in (_sym("Webdings", "F061"), de._run("是 否")):
            cell.find(W + "p").append(run)
    result = parsed(de.edit(rendered("recommendation_letter"), tick), "recommendation_letter")
    problem = next(p for p in result.problems if p.path == "legal_person")
    assert problem.code == "FIELD_UNCERTAIN" and "符号" in problem.message


def test_words_placeholder_prompt_in_an_emptied_control_is_not_a_value():
    def empty(root):
        for sdt in root.iter(W + "sdt"):
            tag = sdt.find(f"{W}sdtPr/{W}tag")
            if tag is not None and tag.get(W + "val") in ("contact_name", "contact_title"):
                etree.SubElement(sdt.find(W + "sdtPr"), W + "showingPlcHdr")
                texts = list(sdt.iter(W + "t"))
                texts[0].text = "单击或点击此处输入文字。"
                for t in texts[1:]:
                    t.text = ""
    result = parsed(de.edit(rendered("recommendation_letter"), empty), "recommendation_letter")
    assert "contact_title" not in result.record and "contact_name" not in result.record
    assert ("FIELD_REQUIRED", "contact_name") in {(p.code, p.path) for p in result.errors}


def test_a_phonetic_guide_over_a_name_is_not_part_of_it():
    def ruby(root):
        cell = de.right_of(root, "姓名")
        de.set_text(cell, "")
        p = cell.find(W + "p")
        p.append(de._run("张"))
        r = etree.SubElement(p, W + "r")
        rb = etree.SubElement(r, W + "ruby")
        etree.SubElement(etree.SubElement(rb, W + "rt"), W + "r").append(de._run("xiǎo")[0])
        etree.SubElement(etree.SubElement(rb, W + "rubyBase"), W + "r").append(de._run("晓")[0])
        p.append(de._run("明"))
    result = parsed(de.edit(rendered("recommendation_letter"), ruby), "recommendation_letter")
    assert result.record["contact_name"] == "张晓明"


def test_a_type_cell_merged_over_two_member_rows_counts_for_both():
    members = [{"name": "辽宁石化职业技术学院", "type": "学校"}, {"name": "中国石油抚顺石化公司", "type": "企业"},
               {"name": "沈阳鼓风机集团", "type": "企业"}]
    record = letter(members=members)

    def merge(root):
        first = next(tc for tc in root.iter(W + "tc") if de.text_of(tc).strip() == "中国石油抚顺石化公司")
        row = first.getparent()
        col = [c for c in row if c.tag == W + "tc"].index(first) + 1
        origin = [c for c in row if c.tag == W + "tc"][col]
        below = [c for c in row.getnext() if c.tag == W + "tc"][col]
        for tc, val in ((origin, "restart"), (below, None)):
            pr = tc.find(W + "tcPr")
            if pr is None:
                pr = etree.SubElement(tc, W + "tcPr")
                tc.remove(pr)
                tc.insert(0, pr)
            vmerge = etree.SubElement(pr, W + "vMerge")
            if val:
                vmerge.set(W + "val", val)
        de.set_text(below, "")
    result = parsed(de.edit(rendered("recommendation_letter", record), lambda r: (de.remove_tags(r), merge(r))),
                    "recommendation_letter")
    assert result.record["members"] == members and result.status == "accepted", result.problems


@pytest.mark.parametrize(("form_id", "name", "main", "template"), [
    ("recommendation_letter", "推荐书.dotx", "wordprocessingml.document.main+xml", "wordprocessingml.template.main+xml"),
    ("summary_table", "汇总表.xltx", "spreadsheetml.sheet.main+xml", "spreadsheetml.template.main+xml"),
])
def test_a_form_saved_as_a_template_is_read_directly(form_id, name, main, template):
    content = rendered(form_id)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        types = zf.read("[Content_Types].xml").replace(main.encode(), template.encode())
    result = parsed(de.rezip(content, {"[Content_Types].xml": types}), form_id, name)
    assert result.readable and not result.converted and result.format == name.rsplit(".", 1)[1]
    assert clean(result.record) == clean(sample(form_id))


def test_an_optional_field_whose_label_was_deleted_is_not_silently_dropped():
    content = de.edit(rendered("recommendation_letter"),
                      lambda r: (de.remove_tags(r), de.set_text(de.cells_by_label(r, "职务")[0], "")))
    result = parsed(content, "recommendation_letter")
    problem = next(p for p in result.problems if p.path == "contact_title")
    assert (problem.code, problem.severity) == ("FIELD_LABEL_MISSING", "review") and "职务" in problem.message
    assert result.status == "needs_review"


def test_a_stamp_that_contradicts_the_content_loses_to_the_content():
    """A 推荐书 pasted into a downloaded 工作总结 file keeps the 工作总结's stamp: read what the document shows."""
    letter_doc = rendered("recommendation_letter")
    with zipfile.ZipFile(io.BytesIO(rendered("work_summary"))) as zf:
        other_stamp = zf.read("docProps/custom.xml")
    result = parsed(de.rezip(letter_doc, {"docProps/custom.xml": other_stamp}), "recommendation_letter")
    assert (result.form, result.identified_by, result.entity) == ("recommendation_letter", "structure", "")
    problem = next(p for p in result.problems if p.code == "FORM_STAMP_MISMATCH")
    assert problem.severity == "review" and "工作总结" in problem.message and "推荐书》（匹配度" in problem.message
    assert clean(result.record) == clean(sample("recommendation_letter"))
    wrong = parsed(de.rezip(letter_doc, {"docProps/custom.xml": other_stamp}), "recommendation_letter",
                   campaign="ln-2018")
    assert [p.code for p in wrong.errors] == ["FORM_WRONG_CAMPAIGN"]


def _formatted_run(text: str, *props: str) -> etree._Element:
    r = etree.Element(W + "r")
    rpr = etree.SubElement(r, W + "rPr")
    for prop in props:
        etree.SubElement(rpr, W + prop)
    etree.SubElement(r, W + "t").text = text
    return r


def _document_in_utf16(content: bytes) -> bytes:
    """The .docx with word/document.xml encoded as UTF-16 (allowed by OOXML; some converters write it)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "word/document.xml":
                data = etree.tostring(etree.fromstring(data), xml_declaration=True, encoding="UTF-16")
            dst.writestr(info, data)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_hidden_text_is_not_read_and_struck_text_is_asked_about(encoding):
    def typing(root):
        for label, runs in (("电子邮箱", [_formatted_run("old@lnpc.edu.cn", "vanish"), de._run("zhangxm@lnpc.edu.cn")]),
                            ("集团名称", [_formatted_run("辽宁化工职教集团", "strike"), de._run("辽宁石油化工职业教育集团")])):
            cell = de.right_of(root, label)
            de.set_text(cell, "")
            for run in runs:
                cell.find(W + "p").append(run)
    content = de.edit(rendered("recommendation_letter"), lambda r: (de.remove_tags(r), typing(r)))
    result = parsed(_document_in_utf16(content) if encoding == "utf-16" else content, "recommendation_letter")
    assert result.record["contact_email"] == "zhangxm@lnpc.edu.cn"  # what Word shows and prints
    problem = next(p for p in result.problems if p.path == "group_name")
    assert problem.code == "FIELD_STRUCK" and "辽宁化工职教集团" in problem.message
    assert problem.candidates == ["辽宁石油化工职业教育集团", "辽宁化工职教集团辽宁石油化工职业教育集团"]
    assert "group_name" not in result.record and result.status == "needs_review"


def test_struck_cells_and_struck_runs_in_a_workbook_are_asked_about():
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont
    from openpyxl.styles import Font

    def edit(wb):
        ws = wb["推荐名单汇总表"]
        for cell in ws[7]:
            cell.font = Font(strike=True)  # a withdrawn group crossed out
        ws["C6"] = CellRichText(TextBlock(InlineFont(strike=True), "抚顺石化公司"), "辽宁石化职业技术学院")
    result = parsed(workbook_edit(rendered("summary_table"), edit), "summary_table", "t.xlsx")
    flags = {p.path: p for p in result.problems if p.code == "FIELD_STRUCK"}
    assert flags["rows.0.lead_units"].candidates == ["辽宁石化职业技术学院", "抚顺石化公司辽宁石化职业技术学院"]
    assert {"rows.1.group_name", "rows.1.rank", "rows.1.member_count"} <= set(flags)
    assert flags["rows.1.rank"].candidates == [2]
    assert result.status == "needs_review"


def test_an_email_with_a_full_stop_typed_after_it_is_not_accepted():
    content = de.edit(rendered("recommendation_letter"),
                      lambda r: de.set_text(de.right_of(r, "电子邮箱"), "zhangxm@lnpc.edu.cn。"))
    result = parsed(content, "recommendation_letter")
    assert ("FIELD_FORMAT", "contact_email") in {(p.code, p.path) for p in result.errors}
