"""The 资料汇编 as the expert panel reads it: one page numbering through the whole PDF that the contents agree with,
each document's status, a note on documents not yet accepted, and the reviewers' decisions beside the documents.

One small campaign is filed once for the module: 辽宁 (汇总表 accepted; 石化 推荐书 with both 是 and 否 ticked,
decided by a reviewer; 医药 推荐书 late), 大连 (汇总表 returned for changes; a late 推荐书 with an unclear count,
taken in by a reviewer but still to be reviewed) and 北京 (a 推荐书 withdrawn: not compiled).
"""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.intake import receive
from service.actions.return_for_changes import return_for_changes
from service.actions.review import decide
from service.actions.withdraw import withdraw
from service.outputs.dossier import build_compilation
from service.render.form import render
from service.store.models import ReviewDecision, Submission
from tests.outputs.test_dossier import DALIAN_ROW, LETTER, SHIHUA, SUMMARY, YIYAO, outline, page_text
from tests.support import docx_edit as de
from tests.support.records import letter, letter_for
from tests.support.samples import ROOT, new_store, sample

ON_TIME = dt.datetime(2020, 11, 20, 10, tzinfo=dt.UTC)
LATE = dt.datetime(2020, 11, 30, 9, tzinfo=dt.UTC)  # the deadline was 2020-11-23
DECIDED_AT = dt.datetime(2020, 11, 18, 2, 30)  # stored in UTC: 10:30 in Beijing
ARTIFACTS = ROOT / "test-artifacts" / "dossier"
NUMBER = re.compile(r"—[ ]*(\d+)[ ]*—")
RETURN_NOTE = "汇总表未加盖公章，请盖章后重新报送。"
STAFF = Actor("秘书处", "admin")


def _file(store, recommender: str, form_id: str, content: bytes, name: str, received_at=ON_TIME) -> int:
    got = receive(store, content, name, campaign_id="jth-2020", recommender_id=recommender, uploader="t",
                  received_at=received_at)
    return got.submission_id


def _status(store, submission_id: int) -> str:
    with store.session() as s:
        return s.get(Submission, submission_id).status


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    store = new_store(tmp_path_factory.mktemp("review-dossier"))
    summary = sample("summary_table")
    shihua_row, yiyao_row = summary["rows"]
    dalian = dict(summary, recommender="大连市教育局", recommender_type="计划单列市教育行政部门", rows=[DALIAN_ROW])
    ids = {}
    ids["ln-summary"] = _file(store, "edu-ln", "summary_table", render("jth-2020", "summary_table", summary).content,
                              "辽宁汇总表.xlsx")
    # 是 and 否 both ticked for 是否具有法人资格: the reviewer decides 否 (as the 汇总表 says) after a phone call.
    both = de.edit(render("jth-2020", "recommendation_letter",
                          letter_for(shihua_row, "辽宁省教育厅", "省级教育行政部门")).content,
                   lambda r: de.set_text(de.right_of(r, "是否具有法人资格"), "☑是　☑否"))
    ids["shihua"] = _file(store, "edu-ln", "recommendation_letter", both, "石化推荐书.docx")
    assert _status(store, ids["shihua"]) == "needs_review"
    decide(store, ids["shihua"], "legal_person", "accept", "审核员甲", value="否", note="经电话核实，集团未登记为法人")
    decide(store, ids["shihua"], "contact_title", "correct", "审核员甲", value="秘书长", note="以集团来函为准")
    ids["yiyao"] = _file(store, "edu-ln", "recommendation_letter",
                         render("jth-2020", "recommendation_letter",
                                letter_for(yiyao_row, "辽宁省教育厅", "省级教育行政部门")).content,
                         "医药推荐书.docx", LATE)

    ids["dl-summary"] = _file(store, "city-dl", "summary_table", render("jth-2020", "summary_table", dalian).content,
                              "大连汇总表.xlsx")
    unclear = de.edit(render("jth-2020", "recommendation_letter",
                             letter_for(DALIAN_ROW, "大连市教育局", "计划单列市教育行政部门")).content,
                      lambda r: de.set_text(de.below(r, "学校"), "约37"))
    ids["dl-letter"] = _file(store, "city-dl", "recommendation_letter", unclear, "大连推荐书.docx", LATE)
    decide(store, ids["dl-letter"], "#SUBMISSION_LATE", "accept", "审核员乙", note="经请示同意受理")
    ids["bj"] = _file(store, "edu-bj", "recommendation_letter",
                      render("jth-2020", "recommendation_letter",
                             letter(recommender="北京市教育委员会", group_name="北京撤回测试职业教育集团")).content,
                      "北京推荐书.docx")
    return_for_changes(store, ids["dl-summary"], STAFF, RETURN_NOTE)
    withdraw(store, ids["bj"], STAFF, "推荐单位来函撤回")
    with store.session.begin() as s:  # the days the decisions were taken, as the campaign had them
        for decision in s.scalars(select(ReviewDecision)):
            decision.created_at = DECIDED_AT
        s.get(Submission, ids["dl-summary"]).state_at = dt.datetime(2020, 11, 24, 1)
    assert {k: _status(store, v) for k, v in ids.items()} == {
        "ln-summary": "accepted", "shihua": "accepted", "yiyao": "late", "dl-summary": "returned",
        "dl-letter": "needs_review", "bj": "withdrawn"}

    result = build_compilation(store, "jth-2020", actor="专家组秘书", today=dt.date(2020, 11, 25))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "资料汇编.pdf"
    path.write_bytes(result.pdf)
    for old in ARTIFACTS.glob("page-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(ARTIFACTS / "page")], check=True)
    yield result, path, ids
    store.dispose()


def _pages(path: Path) -> list[str]:
    return [page_text(path, n) for n in range(1, len(PdfReader(path).pages) + 1)]


def _flat(text: str) -> str:
    return re.sub(r"\s", "", text)


def _raw(path: Path, page: int) -> list[str]:
    """The lines of a page in the order it draws them (a table cell's lines stay together)."""
    return subprocess.run(["pdftotext", "-raw", "-f", str(page), "-l", str(page), str(path), "-"], check=True,
                          capture_output=True, text=True).stdout.splitlines()


def test_every_page_after_the_cover_carries_its_number_in_the_whole_pdf_and_nothing_else(campaign):
    _, path, _ = campaign
    pages = _pages(path)
    assert not NUMBER.search(pages[0])  # the cover has none
    for n, text in enumerate(pages[1:], 2):
        # One number per page, at its foot: the documents' own "— 1 —" is gone, not merely painted over.
        assert [int(x) for x in NUMBER.findall(text)] == [n], (n, text[-300:])
        assert NUMBER.search(text.rstrip().splitlines()[-1]), (n, text[-300:])


def test_the_number_sits_where_the_forms_put_theirs_centred_at_the_foot(campaign):
    _, path, _ = campaign
    words = subprocess.run(["pdftotext", "-bbox", "-f", "4", "-l", "4", str(path), "-"], check=True,
                           capture_output=True, text=True).stdout
    page = re.search(r'<page width="([\d.]+)" height="([\d.]+)"', words)
    width, height = float(page.group(1)), float(page.group(2))
    boxes = re.findall(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">4</word>', words)
    left, top, right, bottom = map(float, boxes[-1])  # the last "4" of the page (a table above has a row 4)
    assert abs((left + right) / 2 - width / 2) < 3  # centred
    assert 45 < height - bottom < 60 and height - top < 80  # in the footer band, below the text block


def _contents(path: Path, first_document: int) -> list[tuple[str, str, int]]:
    """(title, status, page) of each contents line (a 推荐书's line is its group, under the form title)."""
    toc = "\n".join(page_text(path, p) for p in range(2, first_document))
    labels = "通过|需人工复核|逾期|退回修改"
    return [(_flat(m.group(1)), m.group(2) or "", int(m.group(3)))
            for m in re.finditer(rf"^\s*(\S.*?)(?:\s+({labels}))?\s+(\d+)\s*$", toc, re.M)
            if not NUMBER.search(m.group(0))]


def test_the_contents_give_each_document_its_status_and_the_page_where_it_starts(campaign):
    _, path, ids = campaign
    marks = outline(PdfReader(path))
    entries = _contents(path, marks[0][2])
    assert [(title, status) for title, status, _ in entries] == [
        ("一、辽宁省教育厅", ""),
        (SUMMARY, "通过"),
        (SHIHUA, "通过"),
        ("审核记录（2项）", ""),
        (YIYAO, "逾期"),
        ("二、大连市教育局", ""),
        (SUMMARY, "退回修改"),
        ("审核记录（退回修改意见）", ""),
        (DALIAN_ROW["group_name"], "需人工复核"),
        ("审核记录（1项）", ""),
    ]
    assert [page for _, _, page in entries] == [page for _, _, page in marks]
    pages = _pages(path)
    for (title, _, page), (_, bookmark, _) in zip(entries, marks, strict=True):
        text = _flat(pages[page - 1])
        assert NUMBER.findall(pages[page - 1]) == [str(page)]  # the page the contents name shows that number
        if bookmark.startswith(LETTER):
            assert "示范性职业教育集团（联盟）推荐书" in text and title in text
        elif bookmark == SUMMARY:
            assert "推荐名单汇总表" in text
        elif bookmark.startswith("审核记录"):
            assert text.startswith("审核记录")
    assert "北京" not in "".join(pages)  # withdrawn: not compiled


def test_a_document_not_yet_accepted_says_so_at_the_top_of_its_first_page(campaign):
    _, path, _ = campaign
    pages = _pages(path)
    starts = {title: page for _, title, page in outline(PdfReader(path))}
    expected = {f"{LETTER}：{YIYAO}": "逾期", f"{LETTER}：{DALIAN_ROW['group_name']}": "需人工复核"}
    for title, label in expected.items():
        first = pages[starts[title] - 1]
        assert first.strip().startswith(f"本材料尚未通过审核（{label}）"), first[:200]
        assert "尚未通过审核" not in pages[starts[title]]  # its first page only
    ln_summary, dl_summary = (page for _, title, page in outline(PdfReader(path)) if title == SUMMARY)
    assert _flat(pages[dl_summary - 1]).startswith("本材料尚未通过审核（退回修改）")
    for accepted in (starts[f"{LETTER}：{SHIHUA}"], ln_summary):
        assert "尚未通过审核" not in pages[accepted - 1]
    assert sum("尚未通过审核" in p for p in pages) == 3


def test_the_reviewers_decisions_follow_the_document_on_a_page_of_their_own(campaign):
    _, path, ids = campaign
    pages = _pages(path)
    starts = outline(PdfReader(path))
    shihua = next(i for i, (_, title, _) in enumerate(starts) if title == f"{LETTER}：{SHIHUA}")
    assert starts[shihua + 1][1] == "审核记录（2 项）"
    record = _flat("".join(_raw(path, starts[shihua + 1][2])))
    assert "审核记录" in record and SHIHUA in record and f"提交编号{ids['shihua']}" in record
    # 是否具有法人资格: both boxes ticked in the file, 否 decided; who, when (Beijing date), why.
    assert "1是否具有法人资格☑是☑否确认：否审核员甲2020年11月18日经电话核实，集团未登记为法人2" in record, record
    assert "2联系人职务办公室主任更正为：秘书长审核员甲2020年11月18日以集团来函为准" in record
    assert "审核状态：通过" in record

    dalian = _flat("".join(_raw(path, starts[-1][2])))  # after the 大连 推荐书: the late submission taken in
    assert starts[-1][1] == "审核记录（1 项）"
    assert "1逾期报送—予以认可审核员乙2020年11月18日经请示同意受理" in dalian and "审核状态：需人工复核" in dalian

    returned = _flat(pages[next(p for _, t, p in starts if t == "审核记录（退回修改意见）") - 1])
    assert f"已退回报送单位修改（秘书处，2020年11月24日）。退回意见：{RETURN_NOTE}" in returned


def test_the_documents_themselves_are_unchanged_apart_from_the_marks(campaign):
    _, path, ids = campaign
    pages = _pages(path)
    starts = {title: page for _, title, page in outline(PdfReader(path))}
    letter_pages = _flat("".join(pages[starts[f"{LETTER}：{SHIHUA}"] - 1:starts["审核记录（2 项）"] - 1]))
    # The file as sent: both boxes still ticked, the title as written, not the decided values.
    assert "☑是☑否" in letter_pages and "职务办公室主任" in letter_pages and "职务秘书长" not in letter_pages
