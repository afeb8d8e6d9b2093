"""The four stories of a campaign's staff and units, in a real browser (Debian's chromium), each ending in the
right state on the dashboard, the report, the review queue and the 资料汇编:

1. a zip ingested under the wrong unit leaves both units as they were, and is reassigned;
2. a stray PDF uploaded as a form is dismissed and no longer counted;
3. a reviewer's decision on a form with 是 and 否 both ticked shows on the report and in the 资料汇编;
4. the same content sent again (re-saved as .doc) keeps its acceptance.

Screenshots go to ``test-artifacts/story-*.png``.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import zipfile

from playwright.sync_api import expect

from service.actions.intake import receive
from service.render.form import render
from service.store.models import Submission
from tests.support import docx_edit as de
from tests.support.browser import login, shot
from tests.support.samples import sample, soffice_convert

LATE = dt.datetime(2020, 11, 26, 8, tzinfo=dt.UTC)


def _letter(**changes) -> bytes:
    return render("jth-2020", "recommendation_letter", {**sample("recommendation_letter"), **changes}).content


def _table() -> bytes:
    return render("jth-2020", "summary_table", sample("summary_table")).content


def _row(page, unit: str) -> dict[str, str]:
    """A unit's row of the staff dashboard, by column title."""
    data = page.request.get(page.url.split("/admin")[0] + "/admin/?campaign=jth-2020&format=json").json()
    return next(r for r in data["rows"] if r["name"] == unit)


def _wait_for_job(page, base: str, job_url: str) -> dict:
    for _ in range(240):
        data = page.request.get(f"{base}{job_url}?format=json").json()
        if data["state"] in ("done", "failed"):
            return data
        time.sleep(0.5)
    raise AssertionError(f"job did not finish: {data}")


def test_a_zip_under_the_wrong_unit_leaves_both_units_as_they_were_and_is_reassigned(server, browser_page, store):
    page = browser_page
    mine = receive(store, _letter(), "辽宁推荐书.docx", campaign_id="jth-2020", recommender_id="edu-ln",
                   uploader="liaoning", received_at=LATE)
    assert mine.status == "late"
    login(page, server, "admin")
    page.goto(f"{server}/admin/")
    before_ln, before_tj = _row(page, "辽宁省教育厅"), _row(page, "天津市教育委员会")

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("辽宁/推荐书-石化.docx", _letter())
        zf.writestr("辽宁/汇总表.xlsx", _table())
    page.goto(f"{server}/admin/ingest")
    page.select_option("#campaign", "jth-2020")
    page.select_option("#recommender", "edu-tj")  # the wrong unit
    page.set_input_files("#ingest-files", files=[{"name": "辽宁材料.zip", "mimeType": "application/zip",
                                                  "buffer": buf.getvalue()}])
    page.get_by_role("button", name="开始导入").click()
    job = _wait_for_job(page, server, page.url.replace(server, ""))
    assert [i["result"] for i in job["items"]] == ["misdirected", "misdirected"], job["items"]

    page.goto(f"{server}/admin/?campaign=jth-2020")
    shot(page, "story-1-wrong-unit-dashboard")
    tj, ln = _row(page, "天津市教育委员会"), _row(page, "辽宁省教育厅")
    assert tj["submitted"] == 0 and tj["uploads"] == 2 and tj["missing"] == before_tj["missing"]
    assert {k: ln[k] for k in ("submitted", "late", "needs_review", "accepted")} == {
        k: before_ln[k] for k in ("submitted", "late", "needs_review", "accepted")}
    page.goto(f"{server}/r/submissions/{mine.submission_id}")
    expect(page.locator("#status")).to_have_text("逾期")  # not "需人工复核": no "recommended twice"
    expect(page.locator("#problems")).not_to_contain_text("同时被")

    # Reassign both files from the uploads page.
    page.goto(f"{server}/admin/")
    page.get_by_role("link", name="2").click()
    expect(page.locator("#uploads")).to_contain_text("非本单位材料")
    links = [a.get_attribute("href") for a in page.locator("#uploads a").all()]
    for link in links:
        page.goto(f"{server}{link}")
        form = page.locator("form:has(button[data-action=reassign])")
        form.locator("select[name=to]").select_option("edu-ln")
        form.locator("input[name=note]").fill("批量导入时选错了单位")
        form.locator("button[data-action=reassign]").click()
        expect(page.locator("#status")).not_to_have_text("非本单位材料")
        expect(page.locator("body")).to_contain_text("辽宁省教育厅")
    shot(page, "story-1-reassigned-report")
    page.goto(f"{server}/admin/?campaign=jth-2020")
    tj, ln = _row(page, "天津市教育委员会"), _row(page, "辽宁省教育厅")
    assert tj["submitted"] == 0 and tj["uploads"] == 0
    assert ln["submitted"] == 2 and ln["missing"] == []
    shot(page, "story-1-after-reassign-dashboard")


def test_a_stray_pdf_is_dismissed_and_no_longer_counted(server, browser_page, store):
    page = browser_page
    login(page, server, "liaoning")
    page.goto(f"{server}/r/upload")
    page.set_input_files("input[name=files]", files=[{"name": "扫描件.pdf", "mimeType": "application/pdf",
                                                      "buffer": b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"}])
    page.get_by_role("button", name="上传并校验").click()
    page.wait_for_url(re.compile(r"/r/submissions/\d+\?new=1$"))
    expect(page.locator("#status")).to_have_text("无法读取")
    page.reload()  # a refresh shows the report again and uploads nothing twice
    with store.session() as s:
        assert s.query(Submission).count() == 1
    page.goto(f"{server}/r/")
    expect(page.locator("#uploads")).to_contain_text("扫描件.pdf")
    expect(page.locator("body")).to_contain_text("尚未提交材料")
    shot(page, "story-2-unit-dashboard-with-stray")
    page.locator("#uploads a").first.click()
    page.locator("form:has(button[data-action=dismiss]) input[name=note]").fill("传错了文件")
    page.locator("button[data-action=dismiss]").click()
    expect(page.locator("#status")).to_have_text("已清除")
    shot(page, "story-2-dismissed")
    page.goto(f"{server}/r/")
    expect(page.locator("#uploads")).to_have_count(0)
    page.goto(f"{server}/logout")
    login(page, server, "admin")
    page.goto(f"{server}/admin/?campaign=jth-2020")
    ln = _row(page, "辽宁省教育厅")
    assert ln["submitted"] == 0 and ln["uploads"] == 0


def test_the_both_ticked_decision_shows_on_the_report_and_in_the_dossier(server, browser_page, store):
    page = browser_page
    both = de.edit(_letter(), lambda r: de.set_text(de.right_of(r, "是否具有法人资格"), "☑是　☑否"))
    got = receive(store, both, "推荐书.docx", campaign_id="jth-2020", recommender_id="edu-ln", uploader="liaoning",
                  received_at=dt.datetime(2020, 11, 20, tzinfo=dt.UTC))
    assert got.status == "needs_review"
    login(page, server, "admin")
    page.goto(f"{server}/admin/review?campaign=jth-2020")
    row = page.locator("#review-items tr", has_text="是否具有法人资格")
    expect(row).to_contain_text("辽宁省教育厅")  # the unit by its name
    row.locator("select[name=value]").select_option("否")
    row.get_by_role("button", name="采纳").click()
    expect(page.locator("#review-items")).not_to_contain_text("是否具有法人资格")
    shot(page, "story-3-queue-after-decision")

    page.goto(f"{server}/r/submissions/{got.submission_id}")
    expect(page.locator("#status")).to_have_text("通过")
    field = page.locator("#fields tr", has_text="是否具有法人资格")
    expect(field).to_contain_text("否")
    expect(field).to_contain_text("复核结论")
    expect(page.locator("#decisions")).to_contain_text("admin")
    shot(page, "story-3-report-with-decision")

    page.goto(f"{server}/admin/exports")
    page.locator("form[action$='/admin/compile']").first.locator("button[type=submit]").click()
    job = _wait_for_job(page, server, page.url.replace(server, ""))
    assert job["state"] == "done", job
    pdf = page.request.get(f"{server}/admin/jobs/{job['id']}/result").body()
    from pypdf import PdfReader

    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf)).pages)
    flat = re.sub(r"\s+", "", text)
    assert "是否具有法人资格" in flat and "否" in flat and "admin" in flat, flat[:2000]


def test_the_same_content_sent_again_as_doc_keeps_its_acceptance(server, browser_page, store, lo_profile, tmp_path):
    page = browser_page
    got = receive(store, _letter(), "推荐书.docx", campaign_id="jth-2020", recommender_id="edu-ln",
                  uploader="liaoning", received_at=LATE)
    assert got.status == "late"
    login(page, server, "admin")
    page.goto(f"{server}/admin/review?campaign=jth-2020")
    row = page.locator("#review-items tr", has_text="SUBMISSION_LATE")
    row.locator("input[name=note]").fill("经批准延期报送")
    row.get_by_role("button", name="确认受理").click()
    expect(page.locator("body")).to_contain_text("没有待复核的项目")
    page.goto(f"{server}/logout")

    src = tmp_path / "推荐书.docx"
    src.write_bytes(_letter())
    doc = soffice_convert([src], "doc", tmp_path / "out", lo_profile)[0]
    login(page, server, "liaoning")
    page.goto(f"{server}/r/upload")
    page.set_input_files("input[name=files]", str(doc))
    page.get_by_role("button", name="上传并校验").click()
    page.wait_for_url(re.compile(r"/r/submissions/\d+\?new=1$"))
    expect(page.locator("#status")).to_have_text("通过")
    expect(page.locator("#decisions")).to_contain_text("经批准延期报送")
    expect(page.locator("#decisions")).to_contain_text("沿用前一版本的决定")
    shot(page, "story-4-resent-as-doc")
    page.goto(f"{server}/logout")
    login(page, server, "admin")
    page.goto(f"{server}/admin/review?campaign=jth-2020")
    expect(page.locator("body")).to_contain_text("没有待复核的项目")
