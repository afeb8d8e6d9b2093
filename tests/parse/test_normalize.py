"""Normalizing on its own: what a person typed into a field, read exactly or sent back to a person to confirm."""

from __future__ import annotations

import datetime as dt

import pytest

from service.forms.catalog import catalog
from service.forms.fields import Field
from service.office.marks import STRUCK_END, STRUCK_START
from service.parse.normalize import cn_number, normalize, read_choice
from tests.support.samples import CAMPAIGN_OF


def field(form_id: str, path: str) -> Field:
    """The field of a shipped form's schema."""
    return next(f for f in catalog().form(CAMPAIGN_OF[form_id], form_id).fields if f.path == path)


LETTER = "recommendation_letter"


@pytest.mark.parametrize(("path", "typed", "value"), [
    ("members_total", "９３", 93),  # full-width digits
    ("members_total", "93家", 93),  # a count with its unit
    ("members_total", "五十", 50),  # a count in Chinese numerals
    ("contact_phone", "０４１６－４１９８００１", "0416-4198001"),
    ("contact_phone", "(0416)4198001", "0416-4198001"),
    ("lead_unit_date", "2020年11月23日", "2020-11-23"),
    ("lead_unit_date", "二〇二〇年十一月二十三日", "2020-11-23"),
    ("lead_unit_date", "2020.11.23", "2020-11-23"),
    ("founded", "2012年5月", "2012-05"),
    ("contact_name", "张 晓明", "张晓明"),  # a short name padded for alignment
    ("contact_email", "ＺＨＡＮＧ@lnpc.edu.cn", "ZHANG@lnpc.edu.cn"),
])
def test_exact_rewritings_are_read_silently_with_a_note(path, typed, value):
    norm = normalize(field(LETTER, path), typed)
    assert (norm.value, norm.flag) == (value, "")
    assert norm.note == "" or typed in norm.note  # the note quotes what was typed


@pytest.mark.parametrize(("typed", "value"), [
    ("☑是　☐否", "是"), ("是√ 否", "是"), ("■是 □否", "是"), ("否", "否"), ("☐是　☐否", None)])
def test_a_ticked_box_is_read_as_its_option(typed, value):
    norm = normalize(field(LETTER, "legal_person"), typed)
    assert (norm.value, norm.flag) == (value, "")


def test_two_ticked_boxes_are_flagged_with_both_options_as_candidates():
    norm = normalize(field(LETTER, "legal_person"), "☑是　☑否")
    assert (norm.flag, norm.candidates, norm.value) == ("FIELD_AMBIGUOUS", ["是", "否"], None)


def test_options_written_without_any_mark_are_asked_about():
    norm = read_choice("是 否", ("是", "否"))
    assert (norm.flag, norm.variant, norm.candidates) == ("FIELD_UNCERTAIN", "choice_unmarked", ["是", "否"])


@pytest.mark.parametrize(("path", "typed", "variant", "candidates"), [
    ("members_total", "约50", "not_an_integer", [50]),  # “about 50” is not 50
    ("lead_unit_date", "20.11.23", "two_digit_year", []),
    ("group_name", "辽宁石油 化工职业教育集团", "gap_in_name", ["辽宁石油化工职业教育集团"]),
])
def test_readings_that_would_guess_are_flagged_with_the_candidate(path, typed, variant, candidates):
    norm = normalize(field(LETTER, path), typed)
    assert (norm.value, norm.flag, norm.variant, norm.candidates) == (None, "FIELD_UNCERTAIN", variant, candidates)


def test_struck_text_offers_both_readings():
    typed = f"{STRUCK_START}张晓明{STRUCK_END}李红"
    norm = normalize(field(LETTER, "contact_name"), typed)
    assert (norm.flag, norm.candidates) == ("FIELD_STRUCK", ["李红", "张晓明李红"])


def test_spreadsheet_cells_keep_their_type_and_ambiguous_ones_are_asked_about():
    founded, count = field("summary_table", "rows[].founded"), field("summary_table", "rows[].member_count")
    assert normalize(count, 93.0).value == 93
    day_one = normalize(founded, dt.datetime(2012, 5, 1))  # a date cell holding 2012-05 typed as a month
    assert (day_one.flag, day_one.candidates) == ("FIELD_UNCERTAIN", ["2012-05", "2012-05-01"])
    october = normalize(founded, 2012.1)  # 2012.10 in a number cell lost its trailing zero
    assert october.candidates == ["2012-10", "2012-01"]


def test_lines_of_a_list_field_are_its_items():
    norm = normalize(field(LETTER, "lead_units"), "辽宁石化职业技术学院\n中国石油抚顺石化公司")
    assert norm.value == ["辽宁石化职业技术学院", "中国石油抚顺石化公司"]


@pytest.mark.parametrize(("text", "number"), [("五十", 50), ("一百零三", 103), ("一百二", 120), ("两千五", 2500),
                                              ("二〇二〇", 2020), ("五十多", None)])
def test_chinese_numerals(text, number):
    assert cn_number(text) == number


def test_blank_and_missing_values_are_empty_not_flagged():
    for raw in (None, "", "  \u3000 "):
        norm = normalize(field(LETTER, "group_name"), raw)
        assert (norm.value, norm.flag) == (None, "")
