"""The .docx reader: the XSLT walker and the Python walker see the same document."""

from __future__ import annotations

import copy
import io
import zipfile

import pytest
from lxml import etree

from service.office import docx as docx_read
from service.office.xml import parse_xml
from service.render.form import render
from tests.support import docx_edit as de
from tests.support.samples import CAMPAIGN_OF, sample, soffice_convert


def split_control_runs(root: etree._Element) -> None:
    """Each control's text over several runs, as Word leaves it after an edit and LibreOffice after a re-save."""
    for content in root.iter(de.W + "sdtContent"):
        for run in content.findall(de.W + "r"):
            t = run.find(de.W + "t")
            if t is not None and t.text and len(t.text) > 1 and len(run) == len(run.findall(de.W + "rPr")) + 1:
                rest = copy.deepcopy(run)
                rest.find(de.W + "t").text, t.text = t.text[1:], t.text[:1]
                run.addnext(rest)


DOCS = {
    "letter": lambda: render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content,
    "letter-unwrapped": lambda: de.edit(render("jth-2020", "recommendation_letter", sample("recommendation_letter"))
                                        .content, de.unwrap_controls),
    "summary-blank": lambda: render("ln-2018", "work_summary", None, "ln-08").content,
    "work-summary": lambda: render(CAMPAIGN_OF["work_summary"], "work_summary", sample("work_summary")).content,
    "letter-runs-split": lambda: de.edit(render("jth-2020", "recommendation_letter", sample("recommendation_letter"))
                                         .content, split_control_runs),
    "rebuilt": lambda: de.rebuild_from_text(render("ln-2018", "work_summary", sample("work_summary")).content),
}


def python_walk(content: bytes) -> tuple[list, list]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        root = parse_xml(zf.read("word/document.xml"))
    body = root.find(docx_read.W + "body")
    for el in body.iter(docx_read.W + "tab", docx_read.W + "br", docx_read.W + "cr"):
        el.text = docx_read._CHAR[el.tag]
    reader = docx_read._Reader()
    reader.body(body)
    return reader.blocks, reader.sdts


@pytest.mark.parametrize("name", list(DOCS))
def test_fast_and_python_walkers_agree(name):
    content = DOCS[name]()
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        fast = docx_read._fast_blocks(parse_xml(zf.read("word/document.xml")))
    assert fast == python_walk(content)


def test_walkers_agree_on_a_letter_resaved_by_libreoffice(tmp_path, lo_profile):
    # LibreOffice writes a control's text as several runs (one per script: 仿宋 for CJK, Times for digits) and
    # drops its tag; each run once read as a line of its own in the Python walker.
    source = tmp_path / "推荐书.docx"
    source.write_bytes(render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content)
    (saved,) = soffice_convert([source], "docx:MS Word 2007 XML", tmp_path / "out", lo_profile)
    content = saved.read_bytes()
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        fast = docx_read._fast_blocks(parse_xml(zf.read("word/document.xml")))
    slow = python_walk(content)
    assert [s.text for s in fast[1]] == [s.text for s in slow[1]]
    assert fast == slow
    assert "共建共享实训基地12个，互聘教师86人次。" in [s.text for s in slow[1]]


def test_tab_stops_are_not_tab_characters():
    def tab_stops(root: etree._Element) -> None:
        for p in de.right_of(root, "集团名称").iter(de.W + "p"):
            ppr = p.find(de.W + "pPr")
            if ppr is None:
                ppr = etree.Element(de.W + "pPr")
                p.insert(0, ppr)
            etree.SubElement(etree.SubElement(ppr, de.W + "tabs"), de.W + "tab",
                             {de.W + "val": "left", de.W + "pos": "840"})
    content = de.edit(render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content, tab_stops)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        doc = docx_read.read_docx(zf)
    assert doc.tables[0].rows[0].cells[1].text == sample("recommendation_letter")["group_name"]


def _reencoded(content: bytes, encoding: str, char_refs: bool) -> bytes:
    """The same document.xml written in another encoding, or with the private-use characters as &#xE00n;."""
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        root = etree.fromstring(zf.read("word/document.xml"))
    data = etree.tostring(root, xml_declaration=True, encoding=encoding, standalone=True)
    if char_refs:
        data = data.replace("\ue000".encode(), b"&#xE000;").replace("\ue005".encode(), b"&#57349;")
    return de.rezip(content, {"word/document.xml": data})


@pytest.mark.parametrize(("encoding", "char_refs"), [
    ("UTF-8", False), ("UTF-8", True), ("UTF-16", False), ("GB18030", False)])
def test_text_holding_the_walkers_separators_is_read_exactly(encoding, char_refs):
    def private_use(root: etree._Element) -> None:
        de.set_text(de.right_of(root, "服务面向"), "面向\ue000装备\ue005制造")
    content = de.edit(render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content, private_use)
    content = _reencoded(content, encoding, char_refs)
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        doc = docx_read.read_docx(zf)
    texts = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert "面向\ue000装备\ue005制造" in texts
