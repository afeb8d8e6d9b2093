"""A form exported as PDF by the office suite (its text layer) is read like the Word or Excel file it came from:
identified by its title and labels, every value exactly as typed, each with its place on the page."""

from __future__ import annotations

from service.parse.pipeline import parse
from tests.support.records import ON_TIME, clean
from tests.support.samples import CAMPAIGN_OF, sample
from tests.support.scans import tally, with_electronic_seals


def test_every_form_exported_as_pdf_reads_back_exactly(filled):
    report = []
    for form_id, campaign in CAMPAIGN_OF.items():
        path = filled[form_id]
        result = parse(path.read_bytes(), path.name, received_at=ON_TIME[campaign])
        assert result.readable, [p.to_dict() for p in result.errors]
        assert (result.form, result.format, result.identified_by) == (form_id, "pdf", "structure")
        counts = tally(clean(sample(form_id)), result)
        report.append(f"{path.name}: {counts}")
        assert not counts.wrong and not counts.flagged, counts
        assert result.status == "accepted", [p.to_dict() for p in result.problems if p.severity != "info"]
        scan = result.metrics["scan"]
        assert scan["source"] == "pdf_text" and scan["unit"] == "pt" and not scan["engine"]
        assert {p.code for p in result.problems} >= {"FORM_INFERRED", "SCAN_READ"}
        for value in scan["fields"].values():  # a text layer is what the unit typed: sure, and placed
            assert value["confidence"] == 1.0 and not value["ocr"] and value["page"] >= 1
            x0, y0, x1, y1 = value["box"]
            width, height = scan["page_sizes"][value["page"] - 1]
            assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    print("\n".join(report))


def test_a_text_pdf_reports_its_seal_places_without_asking_for_a_seal(filled):
    """An exported PDF is the electronic copy: where its seals go is reported, and nothing is missing from it."""
    path = filled["recommendation_letter"]
    result = parse(path.read_bytes(), path.name, received_at=ON_TIME["jth-2020"])
    seals = result.metrics["scan"]["seals"]
    assert [(s["path"], s["label"], s["page"], s["sealed"]) for s in seals] == [
        ("lead_unit_opinion", "牵头单位（盖章）", 4, False), ("recommender_opinion", "推荐单位（盖章）", 4, False)]
    assert "SEAL_MISSING" not in {p.code for p in result.problems}


def test_an_electronic_seal_on_a_text_pdf_is_found_at_its_place(filled):
    data = with_electronic_seals(filled["recommendation_letter"].read_bytes(), "辽宁省教育厅")
    result = parse(data, "推荐书（电子签章）.pdf", received_at=ON_TIME["jth-2020"])
    assert result.status == "accepted" and not tally(clean(sample("recommendation_letter")), result).wrong
    seals = result.metrics["scan"]["seals"]
    assert [(s["label"], s["sealed"]) for s in seals] == [("牵头单位（盖章）", True), ("推荐单位（盖章）", True)]
    assert all(s["seal"]["score"] >= 0.5 for s in seals)
