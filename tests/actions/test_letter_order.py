"""The 推荐排序 and the 汇总表 filled from the letters: what the unit downloads is its letters, in its order, and
what it sends back agrees with them."""

from __future__ import annotations

import datetime as dt

import pytest

from service.actions.actor import Actor
from service.actions.intake import IntakeError, receive
from service.actions.letter_order import letter_order, prefilled_summary, set_letter_order
from service.parse.pipeline import parse
from service.render.form import render
from service.store.models import AuditEntry
from tests.support.records import letter_for
from tests.support.samples import sample

ON_TIME = dt.datetime(2020, 11, 20, 8, tzinfo=dt.UTC)
LIAONING = Actor("liaoning", "recommender", "edu-ln")


def _send_letters(store) -> list[int]:
    ids = []
    for row in sample("summary_table")["rows"]:
        content = render("jth-2020", "recommendation_letter", letter_for(row, "辽宁省教育厅", "省级教育行政部门")).content
        ids.append(receive(store, content, f"{row['group_name']}.docx", campaign_id="jth-2020",
                           recommender_id="edu-ln", uploader="liaoning", received_at=ON_TIME).submission_id)
    return ids


def test_the_unit_orders_its_letters_and_gets_the_sheet_filled_from_them(store):
    first, second = _send_letters(store)
    assert [x["id"] for x in letter_order(store, "jth-2020", LIAONING)["letters"]] == [first, second]
    saved = set_letter_order(store, "jth-2020", LIAONING, [second, first])
    assert [(x["rank"], x["id"]) for x in saved["letters"]] == [(1, second), (2, first)]

    content, name = prefilled_summary(store, "jth-2020", LIAONING)
    assert name.endswith(".xlsx")
    back = parse(content, name, campaign="jth-2020", received_at=ON_TIME)
    rows = back.record["rows"]
    expected = sample("summary_table")["rows"]
    assert [r["group_name"] for r in rows] == [expected[1]["group_name"], expected[0]["group_name"]]
    assert [r["rank"] for r in rows] == [1, 2]
    for got, want in zip(rows, [expected[1], expected[0]], strict=True):
        for key in ("lead_units", "founded", "member_count", "legal_person", "contact_name", "contact_phone"):
            assert got[key] == want[key], (key, got, want)
    assert back.record["recommender"] == "辽宁省教育厅"
    # Sent back as it came, the sheet agrees with the letters: no row without its letter.
    got = receive(store, content, name, campaign_id="jth-2020", recommender_id="edu-ln", uploader="liaoning",
                  received_at=ON_TIME)
    assert got.code not in ("RANK_NO_LETTER", "RANK_LETTER_MISSING"), got.message
    with store.session() as s:
        assert s.query(AuditEntry).filter_by(action="order_letters", actor="liaoning").count() == 1


def test_an_order_must_name_every_current_letter_once(store):
    first, second = _send_letters(store)
    for wrong in ([first], [first, first], [first, second, 999]):
        with pytest.raises(IntakeError) as exc:
            set_letter_order(store, "jth-2020", LIAONING, wrong)
        assert exc.value.code == "LETTER_ORDER_INVALID"


def test_a_campaign_without_a_ranked_list_has_no_sheet_to_fill(store):
    with pytest.raises(IntakeError) as exc:
        prefilled_summary(store, "ln-2018", Actor("ln-08", "recommender", "ln-08"))
    assert exc.value.code == "SUMMARY_NOT_AVAILABLE"
