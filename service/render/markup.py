"""A returned file marked up with its problems, so the submitter fixes them where they work.

Word: each problem becomes a comment (批注) anchored on the text of the cell or paragraph it is about (python-docx
writes real comments). Excel: a cell comment plus a yellow fill on the cell. Problems about the whole file (quota,
ranking, a missing attachment) are attached to the title. Legacy files are marked up in their converted form
(.docx/.xlsx), since that is what the parser read and where the places point.
"""

from __future__ import annotations

import io
from typing import Any

import docx
from docx.table import _Cell
from docx.text.paragraph import Paragraph as DocxParagraph
from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from service.office.docx import W
from service.office.links import inert_links

AUTHOR = "报送平台"
INITIALS = "平台"
HIGHLIGHT = PatternFill("solid", fgColor="FFFF00")


def _text(problem: dict[str, Any]) -> str:
    title = f"【{problem['title']}】" if problem.get("title") else ""
    return f"{title}{problem['message']}（{problem['code']}）"


def _body_paragraphs(document: Any) -> list[Any]:
    """Body paragraphs in the order the parser counts them (also those inside block-level controls)."""
    out = []

    def walk(el: Any) -> None:
        for child in el:
            if child.tag == W + "p":
                out.append(child)
            elif child.tag == W + "sdt":
                content = child.find(W + "sdtContent")
                if content is not None:
                    walk(content)
            elif child.tag in (W + "customXml", W + "ins", W + "moveTo", W + "smartTag"):
                walk(child)

    walk(document.element.body)
    return out


def _runs_for(paragraphs: list[DocxParagraph]) -> list[Any]:
    for p in paragraphs:
        if p.runs:
            return p.runs
    p = paragraphs[0]
    return [p.add_run("")]


def mark_docx(content: bytes, problems: list[dict[str, Any]]) -> bytes:
    """The .docx with one comment per problem at its place."""
    document = docx.Document(io.BytesIO(content))
    tables = document.tables
    paragraphs = _body_paragraphs(document)
    first = next((DocxParagraph(p, document._body) for p in paragraphs if "".join(p.itertext()).strip()),
                 document.paragraphs[0])
    for problem in problems:
        where = problem.get("where") or {}
        target: list[DocxParagraph] | None = None
        if where.get("part") == "table" and where.get("table", 99999) < len(tables):
            table = tables[where["table"]]
            rows = table._tbl.tr_lst
            if where.get("row", 99999) < len(rows):
                tcs = rows[where["row"]].tc_lst
                if where.get("cell", 99999) < len(tcs):
                    target = _Cell(tcs[where["cell"]], table).paragraphs
        elif where.get("part") == "paragraph" and where.get("paragraph", 99999) < len(paragraphs):
            target = [DocxParagraph(paragraphs[where["paragraph"]], document._body)]
        runs = _runs_for(target) if target else _runs_for([first])
        document.add_comment(runs, text=_text(problem), author=AUTHOR, initials=INITIALS)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def mark_xlsx(content: bytes, problems: list[dict[str, Any]], sheet: str | None = None) -> bytes:
    """The .xlsx with a comment and a highlight on each problem's cell."""
    wb = load_workbook(io.BytesIO(content))
    default = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
    notes: dict[tuple[str, str], list[str]] = {}
    for problem in problems:
        where = problem.get("where") or {}
        ws_name = where.get("sheet") if where.get("sheet") in wb.sheetnames else default.title
        ref = where.get("ref") or "A1"
        notes.setdefault((ws_name, ref), []).append(_text(problem))
    for (ws_name, ref), texts in notes.items():
        cell = wb[ws_name][ref]
        text = "\n".join(texts)
        if cell.comment is not None:
            text = cell.comment.text + "\n" + text
        cell.comment = Comment(text, AUTHOR, width=320, height=40 + 40 * len(texts))
        cell.fill = HIGHLIGHT
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def mark(content: bytes, kind: str, problems: list[dict[str, Any]], sheet: str | None = None) -> bytes:
    """Mark up a .docx or .xlsx (``kind``) with the problems of its report; its outside links made inert."""
    if kind == "docx":
        return inert_links(mark_docx(content, problems))
    if kind == "xlsx":
        return inert_links(mark_xlsx(content, problems, sheet))
    raise ValueError(kind)
