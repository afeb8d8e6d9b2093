"""A returned file marked up with remarks (its problems, a reviewer's decisions, why it was sent back), so the
submitter fixes them where they work.

Word: each remark becomes a comment (批注) whose range spans the value it is about: ``w:commentRangeStart`` before
the value's first run, ``w:commentRangeEnd`` after its last, so Word and WPS highlight the value itself. The value
is the content control tagged with the field, else the text that was read there, else the whole cell or paragraph.
Excel: a cell comment, and a yellow fill on a problem's cell. A remark about the whole file (quota, ranking, a
missing attachment, the message of a return) goes on the form's title. Legacy files are marked up in their converted
form (.docx/.xlsx), since that is what the parser read and where the places point.
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import docx
from docx.oxml.parser import OxmlElement
from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import PatternFill

from service.office.docx import W
from service.office.links import inert_links

AUTHOR = "报送平台"
INITIALS = "平台"
HIGHLIGHT = PatternFill("solid", fgColor="FFFF00")
# Elements a run may sit in inside a paragraph: a comment's marker moves out of one whose text it wholly spans.
_RUN_CONTAINERS = {W + "sdtContent", W + "hyperlink", W + "smartTag", W + "customXml", W + "ins", W + "moveTo",
                   W + "fldSimple"}
_UNSEEN = {W + "del", W + "moveFrom", W + "tbl"}  # text a person does not see there (a nested table is its own place)
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


@dataclass(frozen=True)
class Remark:
    """One comment of a marked copy: what it says, where it goes and which text it is about."""

    text: str
    where: dict[str, Any] | None = None  # a problem's ``where`` (table cell, paragraph, sheet cell); None: the title
    value: str = ""  # the text as it stands there, so the comment spans just it ("": the whole place)
    field: str = ""  # the field's path: a content control tagged with it at the place holds the value
    highlight: bool = True  # Excel fills a problem's cell; a decision or a message is not a problem


def problem_text(problem: dict[str, Any]) -> str:
    """A problem as a comment: 【field】message（CODE）."""
    title = f"【{problem['title']}】" if problem.get("title") else ""
    return f"{title}{problem['message']}（{problem['code']}）"


def problem_remark(problem: dict[str, Any], value: str = "") -> Remark:
    """The remark of a report's problem; ``value`` is the text read at its place, when known."""
    return Remark(problem_text(problem), problem.get("where"), value, problem.get("path", ""))


# -- Word -------------------------------------------------------------------------------------------------------

def _body_paragraphs(body: Any) -> list[Any]:
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

    walk(body)
    return out


def _compact(text: str) -> str:
    return "".join(ch for ch in text if not ch.isspace())


def _seen_runs(holder: Any) -> list[Any]:
    """The runs with visible text in a cell or paragraph, in reading order."""
    out = []

    def walk(el: Any) -> None:
        for child in el:
            if child.tag == W + "r":
                if "".join(t.text or "" for t in child.iter(W + "t")).strip():
                    out.append(child)
            elif child.tag not in _UNSEEN and isinstance(child.tag, str):
                walk(child)

    walk(holder)
    return out


def _run_text(run: Any) -> str:
    return "".join(t.text or "" for t in run.iter(W + "t"))


def _tag_of(path: str) -> str:
    """The content control tag of a field path: ``members.3.name`` → ``members[].name``."""
    return re.sub(r"\.\d+\.", "[].", path)


def _span(holder: Any, value: str, path: str) -> list[Any]:
    """The runs of the value at ``holder``: the control tagged with the field, else the runs covering the text
    read, else every run with text there."""
    if path:
        tag = _tag_of(path)
        for sdt in holder.iter(W + "sdt"):
            found = sdt.find(f"{W}sdtPr/{W}tag")
            if found is not None and found.get(W + "val") == tag:
                runs = _seen_runs(sdt.find(W + "sdtContent") if sdt.find(W + "sdtContent") is not None else sdt)
                if runs:
                    return runs
    runs = _seen_runs(holder)
    return _covering(runs, value) or runs


def _covering(runs: list[Any], value: str) -> list[Any] | None:
    """The runs holding exactly ``value`` (blanks aside), split where it starts or ends inside a run (联系人：张三 typed
    in one run); None when the text is not there."""
    needle = _compact(value)
    if not needle:
        return None
    places = [(i, k) for i, run in enumerate(runs) for k, ch in enumerate(_run_text(run)) if not ch.isspace()]
    at = "".join(_compact(_run_text(r)) for r in runs).rfind(needle)  # a value comes after its label
    if at < 0:
        return None
    (first, start), (last, end) = places[at], places[at + len(needle) - 1]
    chosen = runs[first:last + 1]
    if end + 1 < len(_run_text(chosen[-1])):
        _split(chosen[-1], end + 1)
    if start > 0:
        chosen[0] = _split(chosen[0], start)
    return chosen


def _split(run: Any, at: int) -> Any:
    """Split ``run`` before character ``at`` of its text; it keeps the text before, the new run (same formatting,
    placed after it) the rest."""
    right = copy.deepcopy(run)
    seen = 0
    for mine, theirs in zip([c for c in run if c.tag != W + "rPr"], [c for c in right if c.tag != W + "rPr"],
                            strict=True):
        size = len(mine.text or "") if mine.tag == W + "t" else 0
        if mine.tag == W + "t" and seen < at < seen + size:
            text = mine.text
            mine.text, theirs.text = text[:at - seen], text[at - seen:]
            mine.set(_XML_SPACE, "preserve")
            theirs.set(_XML_SPACE, "preserve")
        elif seen + size <= at and (size or seen < at):
            right.remove(theirs)
        else:
            run.remove(mine)
        seen += size
    run.addnext(right)
    return right


def _outermost(run: Any, edge: int) -> Any:
    """The run, or the run-level container (content control, hyperlink …) whose first (``edge`` 0) or last (-1)
    text run it is: a marker placed beside it spans the same text and leaves the container's content alone."""
    node = run
    while node.getparent() is not None and node.getparent().tag in _RUN_CONTAINERS:
        container = node.getparent()
        runs = _seen_runs(container)
        if not runs or runs[edge] is not run:
            break
        node = container.getparent() if container.tag == W + "sdtContent" else container
    return node


def _empty_run(holder: Any) -> Any:
    """A run to anchor a comment on an empty place (an empty cell still has a paragraph)."""
    paragraph = holder if holder.tag == W + "p" else next(holder.iter(W + "p"), None)
    run = OxmlElement("w:r")
    if paragraph is None:
        paragraph = OxmlElement("w:p")
        holder.append(paragraph)
    paragraph.append(run)
    return run


def _anchor(holder: Any, remark: Remark, comment_id: int) -> None:
    runs = _span(holder, remark.value, remark.field) or [_empty_run(holder)]
    start = OxmlElement("w:commentRangeStart", {W + "id": str(comment_id)})
    end = OxmlElement("w:commentRangeEnd", {W + "id": str(comment_id)})
    reference = OxmlElement("w:r")
    style = OxmlElement("w:rPr")
    style.append(OxmlElement("w:rStyle", {W + "val": "CommentReference"}))
    reference.append(style)
    reference.append(OxmlElement("w:commentReference", {W + "id": str(comment_id)}))
    _outermost(runs[0], 0).addprevious(start)
    _outermost(runs[-1], -1).addnext(end)
    end.addnext(reference)


def _place(document: Any, where: dict[str, Any] | None, paragraphs: list[Any]) -> Any | None:
    """The cell or paragraph element a ``where`` points at, or None (not in this document)."""
    where = where or {}
    if where.get("part") == "table":
        tables = document.tables
        if not isinstance(where.get("table"), int) or not 0 <= where["table"] < len(tables):
            return None
        rows = tables[where["table"]]._tbl.tr_lst
        if not isinstance(where.get("row"), int) or not 0 <= where["row"] < len(rows):
            return None
        tcs = rows[where["row"]].tc_lst
        return tcs[where["cell"]] if isinstance(where.get("cell"), int) and 0 <= where["cell"] < len(tcs) else None
    if where.get("part") == "paragraph":
        index = where.get("paragraph")
        return paragraphs[index] if isinstance(index, int) and 0 <= index < len(paragraphs) else None
    return None


def _title_paragraph(paragraphs: list[Any], title: str) -> Any:
    texts = [_compact("".join(t.text or "" for t in p.iter(W + "t"))) for p in paragraphs]
    wanted = _compact(title)
    for test in ((lambda t: t == wanted), (lambda t: bool(wanted) and wanted in t), bool):
        for p, text in zip(paragraphs, texts, strict=True):
            if test(text):
                return p
    return paragraphs[0]


def mark_docx(content: bytes, remarks: Iterable[Remark], title: str = "") -> bytes:
    """The .docx with one comment per remark spanning its value (remarks about the whole file on the title)."""
    document = docx.Document(io.BytesIO(content))
    body = document.element.body
    paragraphs = _body_paragraphs(body)
    if not paragraphs:
        body.insert(0, OxmlElement("w:p"))
        paragraphs = _body_paragraphs(body)
    heading = _title_paragraph(paragraphs, title)
    for remark in remarks:
        holder = _place(document, remark.where, paragraphs)
        comment = document.comments.add_comment(text=remark.text, author=AUTHOR, initials=INITIALS)
        if holder is None:
            _anchor(heading, Remark(remark.text), comment.comment_id)
        else:
            _anchor(holder, remark, comment.comment_id)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# -- Excel ------------------------------------------------------------------------------------------------------

def _title_cell(wb: Any, default: Any, title: str) -> tuple[str, str]:
    wanted = _compact(title)
    if wanted:
        sheets = [default, *(ws for ws in wb.worksheets if ws is not default and ws.sheet_state == "visible")]
        for test in ((lambda t: t == wanted), (lambda t: wanted in t)):
            for ws in sheets:
                for row in ws.iter_rows(max_row=min(ws.max_row, 20)):
                    for cell in row:
                        if isinstance(cell.value, str) and test(_compact(cell.value)):
                            return ws.title, cell.coordinate
    return default.title, "A1"


def mark_xlsx(content: bytes, remarks: Iterable[Remark], sheet: str | None = None, title: str = "") -> bytes:
    """The .xlsx with a comment on each remark's cell (remarks about the whole file on the title), a problem's
    cell filled yellow."""
    wb = load_workbook(io.BytesIO(content))
    default = wb[sheet] if sheet and sheet in wb.sheetnames else wb.worksheets[0]
    heading = _title_cell(wb, default, title)
    notes: dict[tuple[str, str], list[Remark]] = {}
    for remark in remarks:
        where = remark.where or {}
        place = heading
        if where.get("sheet") in wb.sheetnames and where.get("ref"):
            place = (where["sheet"], where["ref"])
        elif where.get("ref") and not where.get("sheet"):
            place = (default.title, where["ref"])
        notes.setdefault(place, []).append(remark)
    for (ws_name, ref), items in notes.items():
        cell = wb[ws_name][ref]
        text = "\n".join(r.text for r in items)
        if cell.comment is not None:
            text = cell.comment.text + "\n" + text
        cell.comment = Comment(text, AUTHOR, width=320, height=40 + 40 * len(items))
        if any(r.highlight for r in items):
            cell.fill = HIGHLIGHT
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def mark(content: bytes, kind: str, remarks: Iterable[Remark | dict[str, Any]], sheet: str | None = None,
         title: str = "") -> bytes:
    """Mark up a .docx or .xlsx (``kind``) with remarks (a report's problem dicts are taken as they are), remarks
    about the whole file on ``title`` (the form's title, else the first text); outside links made inert."""
    items = [r if isinstance(r, Remark) else problem_remark(r) for r in remarks]
    if kind == "docx":
        return inert_links(mark_docx(content, items, title))
    if kind == "xlsx":
        return inert_links(mark_xlsx(content, items, sheet, title))
    raise ValueError(kind)

