"""Pages read from a PDF's text layer or from a picture, laid out as the paragraphs and tables a Word file has.

A returned 推荐书 exported as PDF, scanned or photographed is still the same form: labels in table cells, values
beside or under them, headings before sections. Turning what a page shows (text lines with their boxes, table
cells found from the ruling) into the :class:`~service.office.docx.DocxDocument` shape lets the parse stage find
fields by the same learned label layout as for Word files, with no second set of rules per format. What Word
files do not need is kept beside it: for every cell and paragraph, the page and box it came from and how sure
the reading is (:class:`Place`), so a reviewer can be shown the place and a caller can compare it with another
copy of the same form.

Coordinates are the page's own: PDF points for a text layer, pixels of the straightened picture for a scan;
the origin is the top left corner.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from service.office.docx import Cell, DocxDocument, Paragraph, Row, Table
from service.office.xlsx import XlsxDocument


@dataclass(frozen=True)
class Box:
    """A rectangle on a page: left, top, right, bottom."""

    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def contains(self, x: float, y: float) -> bool:
        return self.x0 <= x <= self.x1 and self.y0 <= y <= self.y1

    def union(self, other: Box) -> Box:
        return Box(min(self.x0, other.x0), min(self.y0, other.y0), max(self.x1, other.x1), max(self.y1, other.y1))

    def overlap(self, other: Box) -> float:
        """The area both boxes cover."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.y1, other.y1) - max(self.y0, other.y0)
        return max(w, 0.0) * max(h, 0.0)

    def to_list(self) -> list[int]:
        return [round(self.x0), round(self.y0), round(self.x1), round(self.y1)]


class Doubt(NamedTuple):
    """A character the recognizer was not sure of (``missed``: one it may have passed over; no character: what
    was lost is not known, as under a seal), and how sure it was of what it wrote there (0–1). A caller that
    knows what a field holds weighs only what matters to it (the digits of a date, not its dots)."""

    char: str
    score: float
    missed: bool = False


@dataclass
class Line:
    """A piece of text on one line and its box; ``confidence`` is how sure the reading is (the least sure of its
    characters; 1.0 for a text layer) and ``doubts`` the characters that made it less than sure."""

    text: str
    box: Box
    confidence: float = 1.0
    doubts: tuple[Doubt, ...] = ()


@dataclass
class CellRead:
    """One table cell as read: its box, its text lines, and whether anything is written in it at all (``inked``:
    a cell with ink and no text read is not an empty cell)."""

    box: Box
    lines: list[Line] = field(default_factory=list)
    inked: bool = False

    @property
    def confidence(self) -> float:
        if self.lines:
            return min(line.confidence for line in self.lines)
        return 0.0 if self.inked else 1.0

    @property
    def doubts(self) -> tuple[Doubt, ...]:
        return tuple(d for line in self.lines for d in line.doubts)


@dataclass
class Seal:
    """Red round or oval ink on a page (an official seal): its box and how seal-like it looks (0–1)."""

    box: Box
    score: float


@dataclass
class Page:
    """One page: its tables (cells with their boxes), the text outside them, the seals on it and, for a picture,
    the straightened grey image the boxes refer to (cells are cut from it for reviewers)."""

    index: int
    width: float
    height: float
    tables: list[list[CellRead]] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    seals: list[Seal] = field(default_factory=list)
    image: np.ndarray | None = None
    unit: str = "pt"  # pt (PDF points) | px (pixels of ``image``)


@dataclass(frozen=True)
class Place:
    """Where a cell or paragraph of the built document is on the pages, how sure its text is (0–1), and the
    characters that made it less than sure."""

    page: int
    box: Box
    confidence: float = 1.0
    doubts: tuple[Doubt, ...] = ()


@dataclass
class PagedDocument:
    """A PDF or picture read as a document: ``document`` for the label layout of a Word form, ``sheet`` for a
    spreadsheet form, ``places`` for each of their cells (``("table", table, row, cell)``, ``("sheet", row,
    column)``) and paragraphs (``("paragraph", index)``), and the pages themselves.

    ``source`` says how the text was read: ``pdf_text`` (a text layer: exact), ``pdf_scan`` or ``picture`` (OCR).
    """

    document: DocxDocument
    places: dict[tuple[object, ...], Place]
    pages: list[Page]
    source: str
    sheet: XlsxDocument | None = None  # the pages as one worksheet's rows, for a spreadsheet form (its places:
    #                                    ``("sheet", row, column)``, in ``places`` too)
    engine: str = ""
    seconds: float = 0.0
    ocr_seconds: float = 0.0
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def from_picture(self) -> bool:
        return self.source != "pdf_text"


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
#: What ends a sentence: a row ending in one at the edge need not go on in the next.
_ENDS = ("。", "！", "？", "；", "!", "?", ";")
_PAGE_NUMBER = re.compile(r"^[\s\-—–－一_·.第页共/\d]*\d[\s\-—–－一_·.第页共/\d]*$")


def _joiner(left: str, right: str) -> str:
    """What goes between two pieces of one line or a wrapped line: nothing between Chinese text, a space
    between two Latin words."""
    if not left or not right:
        return ""
    if _CJK.match(left[-1]) or _CJK.match(right[0]):
        return ""
    return " "


def text_rows(lines: Iterable[Line]) -> list[list[Line]]:
    """Lines grouped into rows of text (pieces whose boxes share most of their height), top to bottom."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda ln: (ln.box.center[1], ln.box.x0)):
        if rows:
            last = rows[-1]
            top, bottom = min(x.box.y0 for x in last), max(x.box.y1 for x in last)
            shared = min(bottom, line.box.y1) - max(top, line.box.y0)
            if shared > 0.5 * min(bottom - top, line.box.height):
                last.append(line)
                continue
        rows.append([line])
    return [sorted(row, key=lambda ln: ln.box.x0) for row in rows]


def _row_text(row: list[Line]) -> str:
    """The pieces of one row: a wide gap is a space (☑理事会制 ☐董事会制), touching pieces are joined."""
    text = ""
    prev: Line | None = None
    for line in row:
        if prev is not None:
            gap = line.box.x0 - prev.box.x1
            size = max(min(prev.box.height, line.box.height), 1.0)
            text += " " if gap > 0.6 * size else _joiner(text, line.text)
        text += line.text
        prev = line
    return text


@dataclass
class Composed:
    """A paragraph made of rows of text: its text, the lines it was made of, and whether its last row ran to the
    edge (the paragraph may go on in the next place: the next page)."""

    text: str
    lines: list[Line]
    wrapped: bool
    indented: bool = False  # its first line is indented: it starts a paragraph, it goes on none

    @property
    def box(self) -> Box:
        box = self.lines[0].box
        for line in self.lines[1:]:
            box = box.union(line.box)
        return box

    @property
    def confidence(self) -> float:
        return min(line.confidence for line in self.lines)

    @property
    def doubts(self) -> tuple[Doubt, ...]:
        return tuple(d for line in self.lines for d in line.doubts)


def compose(lines: list[Line], right: float) -> list[Composed]:
    """Rows of text as paragraphs: a row that runs to ``right`` (the edge of its cell or column) wraps into the
    next one unless that one is indented (a new paragraph's first line) or the row ended a sentence at the
    edge; any other row ends its paragraph."""
    paras: list[Composed] = []
    rows = [(row, _row_text(row)) for row in text_rows(lines)]
    rows = [(row, text) for row, text in rows if text.strip()]
    left = min((row[0].box.x0 for row, _ in rows), default=0.0)
    wrapped = False
    for row, text in rows:
        size = max(line.box.height for line in row)
        indented = row[0].box.x0 > left + 1.5 * size
        if wrapped and paras and not indented:
            prev = paras[-1]
            prev.text, prev.lines = prev.text + _joiner(prev.text, text) + text, prev.lines + row
        else:
            paras.append(Composed(text, list(row), False, indented))
        wrapped = max(line.box.x1 for line in row) >= right - 1.6 * size and not text.endswith(_ENDS)
        paras[-1].wrapped = wrapped
    return paras


def _clusters(values: list[float], tol: float) -> list[float]:
    """Positions within ``tol`` of each other merged into one (the edges of a table's grid)."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= tol:
            out[-1].append(v)
        else:
            out.append([v])
    return [sum(c) / len(c) for c in out]


def _nearest(edges: list[float], v: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - v))


@dataclass
class TableGrid:
    """One table of a page on its grid: column edges, and the cells by (row, column) of their top left corner."""

    page: int
    xs: list[float]
    rows: list[list[tuple[int, int, int, CellRead]]]  # per grid row: (column, span, rows spanned, cell)
    box: Box

    def same_columns(self, other: TableGrid, tol: float) -> bool:
        """Whether ``other`` (the last table of the page before) has this table's columns: one table, cut."""
        return len(self.xs) == len(other.xs) and all(abs(a - b) <= tol for a, b in zip(self.xs, other.xs, strict=True))


def table_grid(page: int, cells: list[CellRead], tol: float) -> TableGrid:
    """A table's cells on its grid: the edges of all cells, those within ``tol`` of each other one edge; a
    cell's row and column are those of its top left corner, its spans the edges it reaches across."""
    xs = _clusters([c.box.x0 for c in cells] + [c.box.x1 for c in cells], tol)
    ys = _clusters([c.box.y0 for c in cells] + [c.box.y1 for c in cells], tol)
    rows: list[list[tuple[int, int, int, CellRead]]] = [[] for _ in range(max(len(ys) - 1, 1))]
    for cell in cells:
        c0, c1 = _nearest(xs, cell.box.x0), _nearest(xs, cell.box.x1)
        r0, r1 = _nearest(ys, cell.box.y0), _nearest(ys, cell.box.y1)
        if c1 <= c0 or r1 <= r0 or r0 >= len(rows):
            continue  # a sliver between two edges that merged: no cell of the grid
        rows[r0].append((c0, c1 - c0, r1 - r0, cell))
    box = cells[0].box
    for cell in cells[1:]:
        box = box.union(cell.box)
    return TableGrid(page, xs, rows, box)


def _cell_text(cell: CellRead) -> str:
    return "\n".join(p.text for p in compose(cell.lines, cell.box.x1))


def _page_furniture(text: str, box: Box, page: Page) -> bool:
    """A page number in the top or bottom margin (— 1 —, 第1页, 1/4): not part of the form."""
    near_edge = box.y0 > 0.88 * page.height or box.y1 < 0.06 * page.height
    return near_edge and bool(_PAGE_NUMBER.match(text))


def body_lines(page: Page) -> list[Line]:
    """The text outside the tables without the page's number (a row of it, however it was cut in pieces)."""
    out: list[Line] = []
    for row in text_rows(page.lines):
        box = row[0].box
        for line in row[1:]:
            box = box.union(line.box)
        if not _page_furniture(_row_text(row), box, page):
            out.extend(row)
    return out


def edge_tolerance(page: Page, tolerance: float) -> float:
    return tolerance * (page.width / 595.0 if page.unit == "px" else 1.0)


def _page_items(page: Page, tolerance: float) -> list[TableGrid | Composed]:
    """A page's tables and paragraphs, top to bottom."""
    tol = edge_tolerance(page, tolerance)
    grids = [table_grid(page.index, cells, tol) for cells in page.tables if cells]
    body = body_lines(page)
    right = max([line.box.x1 for line in body] + [g.box.x1 for g in grids], default=page.width)
    items: list[TableGrid | Composed] = [*grids, *compose(body, right)]
    return sorted(items, key=lambda it: it.box.y0)


def build_document(pages: list[Page], source: str, tolerance: float) -> tuple[DocxDocument, dict[tuple[object, ...],
                                                                                                 Place]]:
    """The pages as one document: paragraphs and tables in reading order, and the place of every cell and
    paragraph. What a page break cut goes on as one: a table continued on the next page (same columns, nothing
    but page furniture between), a paragraph whose last line ran to the edge. ``tolerance`` is how far apart
    (in points; scaled for pictures) two edges may be and still be one edge."""
    blocks: list[Paragraph | Table] = []
    places: dict[tuple[object, ...], Place] = {}
    last: TableGrid | Composed | None = None
    for page in pages:
        for n, item in enumerate(_page_items(page, tolerance)):
            carried = n == 0 and last is not None and page.index > 0
            if isinstance(item, Composed):
                if (carried and isinstance(last, Composed) and last.wrapped and not item.indented
                        and isinstance(blocks[-1], Paragraph)):
                    para = blocks[-1]
                    para.text += _joiner(para.text, item.text) + item.text
                    before = places[("paragraph", para.index)]
                    places[("paragraph", para.index)] = Place(before.page, before.box,
                                                              min(before.confidence, item.confidence),
                                                              before.doubts + item.doubts)
                else:
                    para = Paragraph(sum(isinstance(b, Paragraph) for b in blocks), item.text)
                    blocks.append(para)
                    places[("paragraph", para.index)] = Place(page.index, item.box, item.confidence, item.doubts)
            else:
                continues = (carried and isinstance(last, TableGrid) and isinstance(blocks[-1], Table)
                             and item.same_columns(last, 2 * edge_tolerance(page, tolerance)))
                table = blocks[-1] if continues else Table(sum(isinstance(b, Table) for b in blocks), [])
                if not continues:
                    blocks.append(table)
                _add_rows(table, item, page.index, places)
            last = item
    return DocxDocument(blocks, [], {}, source), places


def _add_rows(table: Table, grid: TableGrid, page: int, places: dict[tuple[object, ...], Place]) -> None:
    """Append the grid's rows to ``table``: a cell spanning rows is written in its first row and continued
    (empty, ``continued``) in the others, as Word's vertical merges are read."""
    rows: list[list[Cell]] = [[] for _ in grid.rows]
    boxes: list[list[CellRead]] = [[] for _ in grid.rows]
    for r, entries in enumerate(grid.rows):
        for col, span, down, cell in entries:
            rows[r].append(Cell(_cell_text(cell), 0, col, span, False))
            boxes[r].append(cell)
            for below in range(r + 1, min(r + down, len(rows))):
                rows[below].append(Cell("", 0, col, span, True))
                boxes[below].append(cell)
    for r, cells in enumerate(rows):
        if not cells:
            continue
        order = sorted(range(len(cells)), key=lambda i: cells[i].grid_col)
        row = Row(len(table.rows), [])
        for i in order:
            cell = cells[i]
            cell.index = len(row.cells)
            row.cells.append(cell)
            read = boxes[r][i]
            places[("table", table.index, row.index, cell.index)] = Place(page, read.box, read.confidence, read.doubts)
        table.rows.append(row)
