"""The compiled page numbers on documents that number their own pages in other ways, or not at all: a Word policy
document with "第 1 页 共 3 页" in its footers, a PDF with "- 1 -" footers and "Page 1 of 3" headers, one page of it
turned with /Rotate, and a full-page scan. Their own numbers go; everything else on their pages stays.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

import docx
import pytest
import weasyprint
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm
from PIL import Image
from pypdf import PdfReader, PdfWriter

from service.actions.intake import receive
from service.outputs.dossier import build_compilation
from service.render.form import render
from tests.outputs.test_dossier import outline, page_text
from tests.support.samples import ROOT, new_store, sample

ARTIFACTS = ROOT / "test-artifacts" / "dossier"
NUMBER = re.compile(r"—[ ]*(\d+)[ ]*—")


def _field(paragraph, instruction: str) -> None:
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), instruction)
    run = OxmlElement("w:r")
    text = OxmlElement("w:t")
    text.text = "1"
    run.append(text)
    field.append(run)
    paragraph._p.append(field)


def policy_with_own_numbers() -> bytes:
    """Three pages; the footer says 第 X 页 共 3 页, the header the year of the policy (not a page number)."""
    doc = docx.Document()
    section = doc.sections[0]
    section.header.paragraphs[0].text = "辽宁装备制造职教集团 2018 年度制度汇编"
    footer = section.footer.paragraphs[0]
    footer.add_run("第 ")
    _field(footer, "PAGE")
    footer.add_run(" 页 共 ")
    _field(footer, "NUMPAGES")
    footer.add_run(" 页")
    for n in range(1, 4):
        doc.add_heading(f"第{n}章　制度条款", 1)
        doc.add_paragraph(f"第{n}条　本章共 12 条，自 2018 年 3 月 1 日起施行。")
        if n < 3:
            doc.add_page_break()
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def statistics_docx() -> bytes:
    """A table that runs to a narrow bottom margin: its last row on the page sits where footers are, with numbers
    and "—" in its cells (none of them a page number)."""
    doc = docx.Document()
    doc.sections[0].bottom_margin = Cm(1.2)
    doc.sections[0].footer.is_linked_to_previous = True
    table = doc.add_table(rows=0, cols=4)
    table.style = "Table Grid"
    for n in range(1, 61):
        cells = table.add_row().cells
        cells[0].text, cells[1].text, cells[2].text, cells[3].text = str(n), f"项目{n}", "—", str(n * 3)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def minutes_pdf() -> bytes:
    """Three pages numbered "- 1 -" at the foot and "Page 1 of 3" at the head; the second page turned 90°."""
    css = ("@page { size: A4; margin: 30mm 25mm; @bottom-center { content: '- ' counter(page) ' -'; }"
           " @top-right { content: 'Page ' counter(page) ' of ' counter(pages); } }"
           "body { font-family: 'Noto Serif CJK SC'; font-size: 14pt; } p { break-after: page; }")
    body = "".join(f"<p>会议纪要第{n}部分：集团理事会审议通过 3 项议题。</p>" for n in range(1, 4))
    pdf = weasyprint.HTML(string=f"<html><head><style>{css}</style></head><body>{body}</body></html>").write_pdf()
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf)))
    writer.pages[1].rotate(90)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def scan_pdf() -> bytes:
    """A page that is all picture, edge to edge (as a scanner makes them)."""
    out = io.BytesIO()
    Image.new("RGB", (620, 877), (90, 90, 90)).save(out, "PDF", resolution=75)
    return out.getvalue()


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    store = new_store(tmp_path_factory.mktemp("numbers"))
    got = receive(store, render("ln-2018", "work_summary", sample("work_summary")).content, "工作总结.docx",
                  campaign_id="ln-2018", recommender_id="ln-08", uploader="t",
                  received_at=dt.datetime(2018, 6, 1, tzinfo=dt.UTC),
                  attachments=[("policy_documents", "制度汇编.docx", policy_with_own_numbers()),
                               ("policy_documents", "理事会会议纪要.pdf", minutes_pdf()),
                               ("policy_documents", "批复扫描件.pdf", scan_pdf()),
                               ("policy_documents", "成员单位统计表.docx", statistics_docx())])
    assert got.status == "accepted", got.to_dict()
    result = build_compilation(store, "ln-2018", today=dt.date(2018, 6, 8))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "工作总结汇编.pdf"
    path.write_bytes(result.pdf)
    for old in ARTIFACTS.glob("ln-*.png"):
        old.unlink()
    subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(ARTIFACTS / "ln")], check=True)
    yield path, {title.split("：")[-1]: page for _, title, page in outline(PdfReader(path))}
    store.dispose()


def test_each_page_shows_only_its_compiled_number(compiled):
    path, _ = compiled
    for n in range(2, len(PdfReader(path).pages) + 1):
        text = page_text(path, n)
        assert [int(x) for x in NUMBER.findall(text)] == [n], (n, text)
        assert not re.search(r"第\s*\d+\s*页|Page\s*\d+|-\s*\d+\s*-", text), (n, text)


def test_word_footers_go_and_the_rest_of_the_page_stays(compiled):
    path, starts = compiled
    first = starts["制度汇编.docx"]
    for n, page in enumerate(range(first, first + 3), 1):
        text = re.sub(r"\s", "", page_text(path, page))
        assert f"第{n}章制度条款" in text and "本章共12条，自2018年3月1日起施行。" in text
        assert "辽宁装备制造职教集团2018年度制度汇编" in text  # a header that is not a page number stays


def test_a_pdf_attachment_loses_its_own_numbers_even_on_a_turned_page(compiled):
    path, starts = compiled
    first = starts["理事会会议纪要.pdf"]
    reader = PdfReader(path)
    turned = reader.pages[first]  # its second page
    assert (round(float(turned.mediabox.width)), round(float(turned.mediabox.height))) == (842, 595)
    for n, page in enumerate(range(first, first + 3), 1):
        text = re.sub(r"\s", "", page_text(path, page))
        assert f"会议纪要第{n}部分：集团理事会审议通过3项议题。" in text
        assert NUMBER.findall(page_text(path, page)) == [str(page)]


def test_a_full_page_scan_gets_its_number_on_a_white_ground(compiled, tmp_path):
    path, starts = compiled
    page = starts["批复扫描件.pdf"]
    assert NUMBER.findall(page_text(path, page)) == [str(page)]
    subprocess.run(["pdftoppm", "-png", "-r", "72", "-singlefile", "-f", str(page), "-l", str(page), str(path),
                    str(tmp_path / "scan")], check=True)
    image = Image.open(tmp_path / "scan.png").convert("L")
    width, height = image.size  # 1 px = 1 pt
    # On the number's line (54 pt above the foot) the scan is painted white around the number and shows beside it.
    white = [x for x in range(width) if image.getpixel((x, height - 57)) > 240]
    assert white and width / 2 - 45 < min(white) < width / 2 - 20 and width / 2 + 20 < max(white) < width / 2 + 45
    assert image.getpixel((width // 4, height - 57)) < 120 and image.getpixel((width // 2, height - 120)) < 120


def _words(path, page: int) -> list[tuple[str, float, float, float, float]]:
    out = subprocess.run(["pdftotext", "-bbox", "-f", str(page), "-l", str(page), str(path), "-"], check=True,
                         capture_output=True, text=True).stdout
    return [(m.group(5), *map(float, m.group(1, 2, 3, 4))) for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', out)]


def test_a_table_down_to_the_edge_keeps_every_cell_and_the_number_goes_below_it(compiled):
    path, starts = compiled
    first, pages = starts["成员单位统计表.docx"], len(PdfReader(path).pages)
    text = re.sub(r"[ \t]+", " ", "\n".join(page_text(path, n) for n in range(first, pages + 1)))
    for n in range(1, 61):
        assert re.search(rf"^\s*{n} 项目 ?{n} — {n * 3}\s*$", text, re.M), n
    for page in range(2, pages + 1):
        words = _words(path, page)
        number = max((w for w in words if w[0] == str(page)), key=lambda w: w[4])  # the lowest: the page number
        below = number[2]  # yMin: the top of the number
        assert all(w[4] < below - 2 or w[2] > number[4] or w[1] > number[3] + 2 or w[3] < number[1] - 2
                   or w[0] in ("—", str(page)) for w in words), page
