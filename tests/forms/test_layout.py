"""The layout learned from each shipped template: which label, header or heading each field sits by."""

from __future__ import annotations

import pytest

from service.forms.catalog import catalog
from service.forms.layout import Layout, core_key, label_key, layout
from tests.support.samples import CAMPAIGN_OF


def learned(form_id: str) -> Layout:
    return layout(catalog().form(CAMPAIGN_OF[form_id], form_id))


def where(lay: Layout, path: str) -> tuple[str, str]:
    loc = lay.locators[path]
    return loc.kind, loc.label


@pytest.mark.parametrize("form_id", list(CAMPAIGN_OF))
def test_every_field_of_each_template_can_be_found_without_its_anchor(form_id):
    form = catalog().form(CAMPAIGN_OF[form_id], form_id)
    assert set(learned(form_id).locators) == {f.path for f in form.fields}


def test_recommendation_letter_labels():
    lay = learned("recommendation_letter")
    assert where(lay, "group_name") == ("cell_right", "集团名称")
    assert where(lay, "contact_phone") == ("cell_right", "办公电话")
    assert where(lay, "members_total") == ("cell_below", "合计")
    assert where(lay, "governance") == ("heading_rows", "（一）治理结构")
    assert where(lay, "members[].name") == ("column", "成员单位名称")
    assert lay.locators["members[].type"].array == "members"
    # The seal line printed in the opinion cell is template text, not part of the opinion.
    assert lay.locators["lead_unit_opinion"].static == ("牵头单位（盖章）",)
    assert lay.title == "示范性职业教育集团（联盟）推荐书"
    assert label_key(lay.title) in lay.signature and "集团名称" in lay.signature


def test_work_summary_labels():
    lay = learned("work_summary")
    assert where(lay, "lead_schools") == ("cell_right", "牵头学校")
    assert where(lay, "part1_multi_entity") == ("heading_paras", "1. 多元主体共建与服务区域发展")
    assert where(lay, "part2_problems") == ("heading_paras", "（二）面临的困难和问题及下一步工作思路")
    assert where(lay, "policy_documents[].issued") == ("column", "印发日期")
    # A LibreOffice re-save keeps a plain-text control's alias: the alias leads back to the field.
    assert ("报送日期", "submit_date") in lay.aliases
    assert "政策意见和建议" in lay.section_cores


def test_summary_table_labels_and_cells():
    lay = learned("summary_table")
    assert (lay.kind, lay.sheet, lay.header_row) == ("xlsx", "推荐名单汇总表", 5)
    assert where(lay, "recommender") == ("sheet_label", "推荐单位（盖章）：")
    assert lay.locators["recommender"].cell == "C3"
    assert where(lay, "rows[].rank") == ("column", "推荐排序") and lay.locators["rows[].rank"].cell == "A5"
    assert lay.arrays == ["rows"]
    assert lay.title == "示范性职业教育集团（联盟）推荐名单汇总表"


@pytest.mark.parametrize(("text", "key"), [
    ("推荐单位（盖章）：", "推荐单位(盖章)"),  # widths folded, the colon dropped
    ("集 团 名 称：", "集团名称"),  # blanks typed for alignment
])
def test_labels_compare_without_widths_blanks_or_colon(text, key):
    assert label_key(text) == key


@pytest.mark.parametrize("heading", ["（一）治理结构", "一、治理结构", "1. 治理结构", "(1)治理结构", "①治理结构", "① 治理结构"])
def test_a_heading_is_the_same_with_any_enumerator(heading):
    assert core_key(heading) == "治理结构"
