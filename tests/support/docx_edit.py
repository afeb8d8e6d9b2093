"""Edits people make to a returned .docx, done on the XML: typing into cells, removing controls, pasting anew."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable

import docx
from lxml import etree

from service.office.docx import read_docx

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = "{%s}" % W_NS


def rezip(content: bytes, replace: dict[str, bytes], drop: tuple[str, ...] = ()) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(content)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            dst.writestr(info, replace.get(info.filename, src.read(info.filename)))
    return out.getvalue()


def edit(content: bytes, fn: Callable[[etree._Element], None], *, drop_stamp: bool = False) -> bytes:
    """Apply ``fn`` to word/document.xml; optionally lose the custom properties (the identity stamp)."""
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        root = etree.fromstring(zf.read("word/document.xml"))
    fn(root)
    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    return rezip(content, {"word/document.xml": data}, ("docProps/custom.xml",) if drop_stamp else ())


def text_of(el: etree._Element) -> str:
    return "".join(t.text or "" for t in el.iter(W + "t"))


def remove_tags(root: etree._Element) -> None:
    """What a LibreOffice re-save does to rich-text controls: tag and alias gone, text kept."""
    for pr in root.iter(W + "sdtPr"):
        for child in list(pr):
            if child.tag in (W + "tag", W + "alias"):
                pr.remove(child)


def unwrap_controls(root: etree._Element) -> None:
    """What a .doc save does: the controls are gone, their text stays where it was."""
    for sdt in list(root.iter(W + "sdt")):
        content = sdt.find(W + "sdtContent")
        parent = sdt.getparent()
        index = parent.index(sdt)
        parent.remove(sdt)
        for k, child in enumerate(list(content) if content is not None else []):
            parent.insert(index + k, child)


def cells_by_label(root: etree._Element, label: str) -> list[etree._Element]:
    return [tc for tc in root.iter(W + "tc") if text_of(tc).strip() == label]


def right_of(root: etree._Element, label: str, which: int = 0) -> etree._Element:
    tc = cells_by_label(root, label)[which]
    nxt = tc.getnext()
    while nxt is not None and nxt.tag != W + "tc":
        nxt = nxt.getnext()
    return nxt


def below(root: etree._Element, label: str) -> etree._Element:
    tc = cells_by_label(root, label)[0]
    tr = tc.getparent()
    col = [c for c in tr if c.tag == W + "tc"].index(tc)
    nxt = tr.getnext()
    return [c for c in nxt if c.tag == W + "tc"][col]


def _run(text: str) -> etree._Element:
    r = etree.Element(W + "r")
    t = etree.SubElement(r, W + "t")
    t.text = text
    t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    return r


def set_text(tc: etree._Element, text: str) -> None:
    """Select the cell's content and type ``text`` (each line a paragraph): controls in it are gone."""
    for p in tc.findall(W + "p") + tc.findall(W + "sdt"):
        tc.remove(p)
    for line in text.split("\n"):
        p = etree.SubElement(tc, W + "p")
        p.append(_run(line))


def append_text(tc: etree._Element, text: str) -> None:
    """Type at the end of the cell's last paragraph, outside any control."""
    tc.findall(W + "p")[-1].append(_run(text))


def rebuild_from_text(content: bytes) -> bytes:
    """A new document holding only what can be seen: paragraphs and tables retyped, merged cells merged again.

    This is content pasted into a fresh file: no controls, no identity stamp, python-docx's own styles.
    """
    zf = zipfile.ZipFile(io.BytesIO(content))
    source = read_docx(zf)
    new = docx.Document()
    for block in source.blocks:
        if hasattr(block, "rows"):
            width = max(sum(c.span for c in r.cells) for r in block.rows)
            table = new.add_table(rows=len(block.rows), cols=width)
            table.style = "Table Grid"
            for r, row in enumerate(block.rows):
                for cell in row.cells:
                    target = table.cell(r, cell.grid_col)
                    if cell.span > 1:
                        target = target.merge(table.cell(r, cell.grid_col + cell.span - 1))
                    lines = cell.text.split("\n")
                    target.text = lines[0]
                    for line in lines[1:]:
                        target.add_paragraph(line)
        else:
            new.add_paragraph(block.text)
    out = io.BytesIO()
    new.save(out)
    return out.getvalue()
