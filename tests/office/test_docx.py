"""The .docx reader: the XSLT walker and the Python walker see the same document."""

from __future__ import annotations

import io
import zipfile

import pytest
from lxml import etree

from service.office import docx as docx_read
from service.office.xml import parse_xml
from service.render.form import render
from tests.support import docx_edit as de
from tests.support.samples import CAMPAIGN_OF, sample

DOCS = {
    "letter": lambda: render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content,
    "letter-unwrapped": lambda: de.edit(render("jth-2020", "recommendation_letter", sample("recommendation_letter"))
                                        .content, de.unwrap_controls),
    "summary-blank": lambda: render("ln-2018", "work_summary", None, "ln-08").content,
    "work-summary": lambda: render(CAMPAIGN_OF["work_summary"], "work_summary", sample("work_summary")).content,
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
