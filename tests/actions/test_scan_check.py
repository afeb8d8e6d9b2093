"""The stamped copy checked against the electronic one: a unit sends its 推荐书 as a Word file, then the printed,
sealed copy scanned — as the submission's 盖章扫描件, or as a second upload of the same form. The contact's name was
changed in the Word file after printing, and one of the two 盖章 places was left unsealed: the report, the marked
copy and the review queue list that one field with both values and the missing seal, the submission waits for a
reviewer, and deciding them settles it. What was read from the scan is shown to the reviewer as the picture of its
cell, to the unit that sent it and the staff only.

The corpus is made once for the module: the form filled by its labels in LibreOffice, saved as .docx (the
electronic copy) and, with the contact changed, exported to PDF; that PDF printed at 150 dpi, sealed at the first
“（盖章）” only, and scanned (tests/support/scans.py).
"""

from __future__ import annotations

import copy
import datetime as dt
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from service import create_app
from service.actions.intake import IntakeError, add_attachment, receive
from service.actions.marked_copy import marked_copy
from service.actions.review import decide
from service.actions.shapes import detail_of
from service.render.form import render
from service.store.auth import create_token, create_user
from service.store.models import Submission, User
from tests.support.office_fill import fill_in_office
from tests.support.records import ON_TIME
from tests.support.samples import sample
from tests.support.scans import (
    CHANGED,
    PDF_FILTER,
    Variant,
    as_pdf,
    draw_seal,
    fills_for,
    render_pages,
    scanned,
    seal_places,
)

CAMPAIGN, FORM, UNIT = "jth-2020", "recommendation_letter", "edu-ln"
WHEN = ON_TIME[CAMPAIGN]
TYPED = sample(FORM)[CHANGED[0]]  # 张晓明 in the Word file; 张小明 on paper
PASSWORD = "correct-horse-9"
DPI = 150
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "scan-check"


@dataclass(frozen=True)
class Corpus:
    docx: bytes  # the electronic copy
    pdf: bytes  # the electronic copy exported to PDF (a text layer)
    scan: bytes  # the paper copy, printed after the change, sealed at the first 盖章 place only
    unsealed: str  # the label of the place left without a seal


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, lo_profile) -> Corpus:
    folder = tmp_path_factory.mktemp("scan-check")
    issued = render(CAMPAIGN, FORM, None, UNIT)
    src = folder / "issued.docx"
    src.write_bytes(issued.content)
    docx, pdf, changed_pdf = folder / "推荐书.docx", folder / "推荐书.pdf", folder / "changed.pdf"
    changed = copy.deepcopy(sample(FORM))
    changed[CHANGED[0]] = CHANGED[1]
    fill_in_office([
        {"src": src, "fills": fills_for(FORM, CAMPAIGN, sample(FORM)),
         "outputs": [{"path": docx, "filter": "MS Word 2007 XML"}, {"path": pdf, "filter": PDF_FILTER["docx"]}]},
        {"src": src, "fills": fills_for(FORM, CAMPAIGN, changed),
         "outputs": [{"path": changed_pdf, "filter": PDF_FILTER["docx"]}]},
    ], lo_profile)
    printed = changed_pdf.read_bytes()
    pages = render_pages(printed, DPI)
    places = seal_places(printed)
    assert len(places) == 2  # 牵头单位（盖章）, 推荐单位（盖章）
    index, x, y = places[0]
    pages[index] = draw_seal(pages[index], (x * DPI / 72, y * DPI / 72), DPI / 25.4, "辽宁省教育厅", 3)
    variant = Variant("scan", dpi=DPI, rotate=0.6, blur=0.5, noise=4, jpeg=80)
    scan = as_pdf([scanned(p, variant, 7 + i) for i, p in enumerate(pages)], DPI, jpeg=80)
    return Corpus(docx.read_bytes(), pdf.read_bytes(), scan, "推荐单位（盖章）")


def _submit_docx(store, corpus: Corpus):
    return receive(store, corpus.docx, "推荐书.docx", campaign_id=CAMPAIGN, recommender_id=UNIT, uploader="provincial",
                   received_at=WHEN)


def _check_items(detail: dict) -> tuple[list[dict], list[dict]]:
    differs = [p for p in detail["problems"] if p["code"] == "FIELD_SCAN_DIFFERS"]
    seals = [p for p in detail["problems"] if p["code"] == "SEAL_MISSING" and p["severity"] == "review"]
    return differs, seals


def _assert_the_check_found(detail: dict, corpus: Corpus) -> None:
    differs, seals = _check_items(detail)
    assert [(p["path"], p["candidates"]) for p in differs] == [(CHANGED[0], [TYPED, CHANGED[1]])], differs
    assert f"扫描件：{CHANGED[1]}；电子版：{TYPED}" in differs[0]["message"]
    assert differs[0]["picture"] and differs[0]["picture_page_url"].endswith(differs[0]["picture"])
    assert [p["message"].split("；")[0] for p in seals] == [f"扫描件第 4 页“{corpus.unsealed}”处没有找到红色印章"]
    assert detail["status"] == "needs_review"
    assert detail["scan_check"]["compared"] > 10 and list(detail["scan_check"]["fields"]) == [CHANGED[0]]


def _comments(docx: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        return z.read("word/comments.xml").decode()


def test_the_stamped_scan_attached_is_checked_and_decided(store, corpus):
    got = _submit_docx(store, corpus)
    before = got.status  # what the Word file's own reading gave
    add_attachment(store, got.submission_id, "stamped_scan", "盖章扫描件.pdf", corpus.scan, "provincial")
    detail = detail_of(store, got.submission_id)
    _assert_the_check_found(detail, corpus)
    assert [a["kind"] for a in detail["attachments"]] == ["stamped_scan"]
    # The unit reads both in its marked copy, the difference at the contact's place in its Word file.
    with store.session() as s:
        comments = _comments(marked_copy(store, s.get(Submission, got.submission_id))[0])
    assert f"扫描件：{CHANGED[1]}；电子版：{TYPED}" in comments and corpus.unsealed in comments
    # The reviewer keeps the electronic value (the unit confirmed it by phone) and takes in the seal.
    decide(store, got.submission_id, CHANGED[0], "accept", "admin", value=TYPED, note="电话核实，以电子版为准")
    decide(store, got.submission_id, "#SEAL_MISSING", "accept", "admin", note="已收到补盖章的纸质件")
    detail = detail_of(store, got.submission_id)
    assert _check_items(detail) == ([], [])
    assert detail["record"][CHANGED[0]] == TYPED
    assert detail["status"] == before


def test_a_scan_sent_after_the_word_file_becomes_its_stamped_copy(store, corpus):
    first = _submit_docx(store, corpus)
    got = receive(store, corpus.scan, "推荐书盖章件.pdf", campaign_id=CAMPAIGN, recommender_id=UNIT,
                  uploader="provincial", received_at=WHEN + dt.timedelta(hours=1))
    assert (got.outcome, got.submission_id, got.status) == ("attached", first.submission_id, "needs_review")
    with store.session() as s:
        current = s.query(Submission).filter_by(recommender_id=UNIT, form_id=FORM, is_current=True).all()
    assert [c.id for c in current] == [first.submission_id]  # the electronic copy stays the submission
    detail = detail_of(store, first.submission_id)
    assert [(a["kind"], a["file"]) for a in detail["attachments"]] == [("stamped_scan", "推荐书盖章件.pdf")]
    _assert_the_check_found(detail, corpus)
    again = receive(store, corpus.scan, "推荐书盖章件.pdf", campaign_id=CAMPAIGN, recommender_id=UNIT,
                    uploader="provincial", received_at=WHEN + dt.timedelta(hours=2))
    assert (again.outcome, again.submission_id) == ("duplicate", first.submission_id)


def test_a_word_file_sent_after_its_scan_takes_the_scan_as_its_stamped_copy(store, corpus):
    scan_first = receive(store, corpus.scan, "推荐书盖章件.pdf", campaign_id=CAMPAIGN, recommender_id=UNIT,
                         uploader="provincial", received_at=WHEN)
    assert scan_first.outcome == "new" and scan_first.status == "needs_review"  # read alone: every value to review
    word = receive(store, corpus.docx, "推荐书.docx", campaign_id=CAMPAIGN, recommender_id=UNIT,
                   uploader="provincial", received_at=WHEN + dt.timedelta(hours=1))
    assert word.outcome == "superseded" and word.submission_id != scan_first.submission_id
    detail = detail_of(store, word.submission_id)
    assert [(a["kind"], a["file"]) for a in detail["attachments"]] == [("stamped_scan", "推荐书盖章件.pdf")]
    _assert_the_check_found(detail, corpus)


@pytest.fixture
def site(store):
    with store.session.begin() as s:
        create_user(s, "provincial", PASSWORD, "recommender", UNIT)
        create_user(s, "beijing", PASSWORD, "recommender", "edu-bj")
        create_user(s, "admin", PASSWORD, "admin", None)
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False, "DATABASE_URL": store.url,
                      "FILE_STORE": str(store.files.root)})
    app.extensions["jth_store"] = store
    return app


def _as(app, username: str):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client


def test_the_picture_of_a_cell_is_kept_and_shown_to_its_unit_and_the_staff(site, store, corpus):
    sub_id = _submit_docx(store, corpus).submission_id
    unit = _as(site, "provincial")
    response = unit.post(f"/r/submissions/{sub_id}/attachments", data={
        "kind": "stamped_scan", "attachments": (io.BytesIO(corpus.scan), "盖章扫描件.pdf")})
    assert response.status_code == 302
    detail = unit.get(f"/r/submissions/{sub_id}?format=json").get_json()
    row = next(p for p in detail["problems"] if p["code"] == "FIELD_SCAN_DIFFERS")
    url = row["picture_page_url"]
    assert store.files.exists(row["picture"])
    assert f'src="{url}"' in unit.get(f"/r/submissions/{sub_id}").get_data(as_text=True)
    picture = unit.get(url)
    assert (picture.status_code, picture.mimetype) == (200, "image/png")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "contact_name.png").write_bytes(picture.data)  # for a person to look at
    with Image.open(io.BytesIO(picture.data)) as cell:  # the contact's cell: wider than tall, readable size
        assert cell.format == "PNG" and cell.width > cell.height > 10
    assert _as(site, "beijing").get(url).status_code == 404
    admin = _as(site, "admin")
    assert admin.get(url).status_code == 200
    queue = admin.get(f"/admin/review?campaign={CAMPAIGN}").get_data(as_text=True)
    assert f'src="{url}"' in queue and f"扫描件：{CHANGED[1]}；电子版：{TYPED}" in queue
    # A picture this submission does not name is not served, whoever asks.
    assert admin.get(f"/r/submissions/{sub_id}/pictures/{'0' * 64}").status_code == 404
    # The API serves the same picture, where its JSON says, to the unit's token, and to no other unit's.
    with store.session.begin() as s:
        tokens = {name: create_token(s, s.query(User).filter_by(username=name).one()) for name in ("provincial",
                                                                                                 "beijing")}
    api = site.test_client()
    shaped = api.get(f"/api/v1/submissions/{sub_id}", headers={"Authorization": f"Bearer {tokens['provincial']}"})
    api_row = next(p for p in shaped.get_json()["problems"] if p["code"] == "FIELD_SCAN_DIFFERS")
    served = api.get(api_row["picture_url"], headers={"Authorization": f"Bearer {tokens['provincial']}"})
    assert (served.status_code, served.mimetype, served.data) == (200, "image/png", picture.data)
    other = api.get(api_row["picture_url"], headers={"Authorization": f"Bearer {tokens['beijing']}"})
    assert other.status_code == 404
    missing = api.get(f"/api/v1/submissions/{sub_id}/pictures/{'0' * 64}",
                      headers={"Authorization": f"Bearer {tokens['provincial']}"})
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "SCAN_PICTURE_NOT_FOUND"


def test_a_pdf_submission_has_no_marked_copy_but_says_why(site, store, corpus):
    got = receive(store, corpus.pdf, "推荐书.pdf", campaign_id=CAMPAIGN, recommender_id=UNIT, uploader="provincial",
                  received_at=WHEN)
    with store.session() as s, pytest.raises(IntakeError) as refused:
        marked_copy(store, s.get(Submission, got.submission_id))
    assert refused.value.code == "MARKUP_UNAVAILABLE" and "PDF 文件或图片" in refused.value.message
    unit = _as(site, "provincial")
    response = unit.get(f"/r/submissions/{got.submission_id}/marked")
    assert response.status_code == 409 and "PDF 文件或图片" in response.get_data(as_text=True)
    assert "下载批注版" not in unit.get(f"/r/submissions/{got.submission_id}").get_data(as_text=True)
