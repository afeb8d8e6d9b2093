"""Paper copies read back: the filled forms printed (rendered from their PDF), sealed over “（盖章）”, then scanned
(turned, blurred, speckled, JPEG) or photographed on a desk (perspective, uneven light), sent as a scanner's
PDF, a multi-page TIFF or one picture. Each is read, identified and prefilled, and goes to a person: every
value exact or flagged, never a wrong value taken unflagged; every value read by OCR placed (page, box),
weighed (confidence) and pictured for its reviewer; a seal found where one was stamped, and missed where not.
"""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image

from service.office.limits import DEFAULT_LIMITS
from service.parse.pipeline import parse, revalidate
from tests.support.records import ON_TIME, clean
from tests.support.samples import sample
from tests.support.scans import CHANGED, Variant, as_pdf, encoded, paper_copies, tally

SEAL = "辽宁省教育厅"
VARIANTS = {
    "scan": Variant("scan", dpi=200, rotate=1.2, blur=0.8, noise=8, jpeg=60),
    "photo": Variant("photo", dpi=150, photo=True, rotate=-0.8, jpeg=75),
}
FIELD_KEYS = {"value", "text", "confidence", "page", "box", "ocr", "certain", "image"}


def as_tiff(pages: list[Image.Image]) -> bytes:
    out = io.BytesIO()
    pages[0].save(out, "TIFF", save_all=True, append_images=pages[1:], compression="tiff_deflate")
    return out.getvalue()


def keeper(folder):
    """keep_picture for the tests: each cell's picture in ``folder``, named by its path."""
    folder.mkdir(parents=True, exist_ok=True)

    def keep(png: bytes, path: str) -> str:
        target = folder / f"{path}.png"
        target.write_bytes(png)
        return str(target)
    return keep


def check_values(result, pages: int) -> None:
    """Every value read by OCR is placed on a page, weighed, pictured, and shown to a person if it was taken."""
    scan = result.metrics["scan"]
    assert scan["pages"] == pages and scan["unit"] == "px" and scan["engine"].startswith("RapidOCR")
    assert 0 < scan["ocr_seconds"] <= scan["seconds"]
    shown = {p.path for p in result.problems if p.code == "FIELD_FROM_SCAN"}
    for path, value in scan["fields"].items():
        assert set(value) == FIELD_KEYS, path
        assert value["ocr"] and 0 <= value["confidence"] <= 1 and 1 <= value["page"] <= pages
        width, height = scan["page_sizes"][value["page"] - 1]
        x0, y0, x1, y1 = value["box"]
        assert 0 <= x0 < x1 <= width + 8 and 0 <= y0 < y1 <= height + 8, path
        with Image.open(value["image"]) as picture:
            assert picture.format == "PNG" and picture.width >= x1 - x0 and picture.height >= y1 - y0
        # Taken into the record: shown to a person to accept; not taken: flagged instead; an empty cell: nothing.
        assert (path in shown) == (value["certain"] and value["value"] is not None), path
        if value["value"] is None and value["certain"]:
            assert not value["text"], path


@pytest.mark.parametrize("name", list(VARIANTS))
def test_a_sealed_paper_copy_is_read_and_goes_to_a_person(name, filled, tmp_path, artifacts):
    variant = VARIANTS[name]
    pages = paper_copies(filled["recommendation_letter"].read_bytes(), variant, SEAL, seed=11)
    pages[0].save(artifacts / f"recommendation_letter.{name}.p1.png")
    pages[3].save(artifacts / f"recommendation_letter.{name}.p4.png")
    data = as_pdf(pages, variant.dpi, jpeg=variant.jpeg)
    result = parse(data, f"推荐书{name}.pdf", received_at=ON_TIME["jth-2020"], keep_picture=keeper(tmp_path))
    assert (result.form, result.format, result.status) == ("recommendation_letter", "pdf", "needs_review")
    assert result.metrics["scan"]["source"] == "pdf_scan"
    counts = tally(clean(sample("recommendation_letter")), result)
    print(f"推荐书 {name} ({variant}): {counts}; flagged {counts.flagged}")
    assert not counts.wrong, counts.wrong
    assert len(counts.exact) >= 0.75 * (len(counts.exact) + len(counts.flagged)), counts
    check_values(result, 4)
    seals = result.metrics["scan"]["seals"]
    assert [(s["label"], s["page"], s["sealed"]) for s in seals] == [("牵头单位（盖章）", 4, True),
                                                                    ("推荐单位（盖章）", 4, True)]
    assert "SEAL_MISSING" not in {p.code for p in result.problems}
    (artifacts / f"recommendation_letter.{name}.group_name.png").write_bytes(
        (tmp_path / "group_name.png").read_bytes())


def test_a_value_changed_before_scanning_and_a_missing_seal_are_found(filled, tmp_path):
    """The 推荐书 printed after its contact was changed, sent unsealed as a multi-page TIFF: the value read
    differs from the electronic copy's at that one field (or is flagged), and both 盖章 places are reported."""
    variant = Variant("unsealed", dpi=150, rotate=-2.0, blur=1.0, noise=10, seal=False)
    pages = paper_copies(filled["changed"].read_bytes(), variant, SEAL, seed=5)
    scan = parse(as_tiff(pages), "盖章扫描件.tif", received_at=ON_TIME["jth-2020"], keep_picture=keeper(tmp_path))
    electronic = parse(filled["electronic"].read_bytes(), "推荐书.docx", received_at=ON_TIME["jth-2020"])
    assert (scan.form, scan.format, scan.metrics["scan"]["source"]) == ("recommendation_letter", "tif", "picture")
    expected = clean(dict(sample("recommendation_letter"), **{CHANGED[0]: CHANGED[1]}))
    counts = tally(expected, scan)
    print(f"推荐书 unsealed TIFF ({variant}): {counts}; flagged {counts.flagged}")
    assert not counts.wrong, counts.wrong
    check_values(scan, 4)
    # Field by field, as the cross-check compares them: the scan's values taken against the electronic copy's.
    fields = scan.metrics["scan"]["fields"]
    typed = {f.path: f.value for f in electronic.fields}
    differ = {path for path, v in fields.items() if v["certain"] and v["value"] != typed.get(path)}
    assert differ <= {CHANGED[0]}
    assert CHANGED[0] in differ or not fields[CHANGED[0]]["certain"]
    missing = [p.message for p in scan.problems if p.code == "SEAL_MISSING"]
    assert missing == ["扫描件第 4 页“牵头单位（盖章）”处没有找到红色印章；请核对纸质件是否已盖章；未盖章的请补盖后重新扫描上传。",
                       "扫描件第 4 页“推荐单位（盖章）”处没有找到红色印章；请核对纸质件是否已盖章；未盖章的请补盖后重新扫描上传。"]
    assert [s["sealed"] for s in scan.metrics["scan"]["seals"]] == [False, False]
    assert scan.status == "needs_review"
    # A reviewer decides every field read: the missing seals still wait for a person.
    accepted = {p.path for p in scan.problems if p.path and p.severity == "review"}
    checked = revalidate(scan, decided=accepted, received_at=ON_TIME["jth-2020"])
    assert {p.code for p in checked.problems if p.severity == "review"} == {"SEAL_MISSING"}


def test_a_photographed_summary_table_is_read_by_its_sheet_labels(filled, tmp_path, artifacts):
    """The 汇总表 (a spreadsheet form) photographed on a desk, sent as one JPEG: read by the workbook's labels."""
    variant = Variant("photo", dpi=200, photo=True, rotate=0.6, jpeg=80)
    page, = paper_copies(filled["summary_table"].read_bytes(), variant, SEAL, seed=2)
    page.save(artifacts / "summary_table.photo.png")
    result = parse(encoded(page, variant), "汇总表.jpg", received_at=ON_TIME["jth-2020"],
                   keep_picture=keeper(tmp_path))
    assert (result.form, result.format, result.status) == ("summary_table", "jpg", "needs_review")
    counts = tally(clean(sample("summary_table")), result)
    print(f"汇总表 photo: {counts}; flagged {counts.flagged}")
    assert not counts.wrong, counts.wrong
    check_values(result, 1)
    assert [(s["label"], s["sealed"]) for s in result.metrics["scan"]["seals"]] == [("推荐单位（盖章）：", True)]


def test_a_scanned_work_summary_is_read_with_its_sections(filled, tmp_path):
    variant = Variant("scan", dpi=150, rotate=0.7, blur=0.7, noise=6, jpeg=70)
    pages = paper_copies(filled["work_summary"].read_bytes(), variant, SEAL, seed=4)
    result = parse(as_pdf(pages, variant.dpi, jpeg=variant.jpeg), "工作总结.pdf", received_at=ON_TIME["ln-2018"],
                   keep_picture=keeper(tmp_path))
    assert (result.form, result.status) == ("work_summary", "needs_review")
    counts = tally(clean(sample("work_summary")), result)
    print(f"工作总结 scan: {counts}; flagged {counts.flagged}")
    assert not counts.wrong, counts.wrong
    check_values(result, 2)


def test_reading_stops_at_the_files_time_limit(filled):
    """A scan that takes longer than the limit is refused with a coded Chinese message, not read for minutes."""
    pages = paper_copies(filled["recommendation_letter"].read_bytes(), VARIANTS["scan"], SEAL, seed=1)
    limits = dataclasses.replace(DEFAULT_LIMITS, max_scan_seconds=1)
    result = parse(as_tiff(pages), "扫描件.tif", received_at=ON_TIME["jth-2020"], limits=limits)
    assert not result.readable and [p.code for p in result.errors] == ["SCAN_TIMEOUT"]
    assert result.errors[0].message.startswith("扫描件识别超过了 1 秒仍未读完。")
