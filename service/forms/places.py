"""The labelled blank places of a plain document: where a person is meant to write, and the label saying what.

A form as people know it (the notice's attachment, made in Word, WPS or LibreOffice) has no anchors: a label
cell with an empty cell right of it (集团名称 | ____), a header row over empty rows (序号 | 姓名 | 职务), a heading
over an empty cell or empty paragraphs (（一）治理结构), choices written as boxes (□是　□否). This module reads
those places from a document without knowing any form, for three uses: the layout of a template without anchors
(:mod:`service.forms.layout`), ``forms check`` naming the labels that match no field, and ``forms scaffold``
proposing a schema (:mod:`service.forms.scaffold`).

Place kinds (the value's position; the layout's locator kinds, see :mod:`service.forms.layout`):

``cell_right``    the empty cell right of a label cell
``heading_rows``  the empty row under a one-cell heading row
``heading_paras`` the empty paragraph after a heading paragraph
``para_right``    the blank after “label：” at the end of a paragraph (填表日期：______)
``column``        a header cell of a row with empty rows under it: a repeated table's column, or (one empty
                  row) a value under its header (学校 / 21)
``sheet_label``   a spreadsheet's empty cell right of a label cell
``sheet_column``  a spreadsheet's header cell with empty rows under it

A place is blank when nothing is written there: spaces, a line to write on (____), or an empty content control.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from service.office.docx import Cell, DocxDocument, Paragraph, Row, Table
from service.problems.location import Where

BOXES = "□☐"
_OPTION = re.compile(r"[□☐]\s*([^□☐\s][^□☐]*?)\s*(?=[□☐]|$)")
_BLANK = re.compile(r"^[\s_＿\u3000\u00a0]*$")
_JINJA = re.compile(r"\{[{%#].*?[}%#]\}", re.S)
_NUMBER = re.compile(r"^[\d\s.,，、\-/年月日:：()（）%]*$")
_TRAILING_BLANK = re.compile(r"^(?P<label>[^：:]{1,20})[：:](?P<blank>[\s_＿\u3000\u00a0]{2,})$")
_ANNEX = re.compile(r"^附\s*件\s*\d*[：:]?$|^附[：:]")
SEQUENCE = "序号"
MAX_LABEL = 30  # a label is short: a longer text is an instruction or a sentence


def blank(text: str) -> bool:
    """Nothing written: spaces, or a line to write on (____)."""
    return _BLANK.match(text or "") is not None


def options_of(text: str) -> tuple[str, ...]:
    """The choices written as boxes (□是　□否 → 是, 否); () when the text is not two or more boxed options."""
    t = (text or "").strip()
    if not t or t[0] not in BOXES:
        return ()
    found = tuple(m.group(1).strip() for m in _OPTION.finditer(t))
    return found if len(found) >= 2 else ()


def _key(text: str) -> str:
    t = unicodedata.normalize("NFKC", text or "")
    return re.sub(r"\s+", "", t).rstrip(":：")


def number_like(text: str) -> bool:
    """A number, a date or a row's number printed in a template: never a label."""
    return bool(_NUMBER.match(_key(text)))


def label_like(text: str) -> bool:
    """Whether a text can be a label: short, not blank, not boxes, not a number or a template expression."""
    if blank(text) or options_of(text) or _JINJA.search(text or ""):
        return False
    key = _key(text)
    return 0 < len(key) <= MAX_LABEL and not _NUMBER.match(key) and "\n" not in text.strip()


@dataclass(frozen=True)
class Place:
    """One labelled blank place: the label as the document shows it, and where the value goes."""

    label: str
    kind: str
    where: Where  # the value's place (column, sheet_column: the header cell)
    options: tuple[str, ...] = ()  # choices written at the place (□是　□否)
    text: str = ""  # what the place holds in the template (the boxes as written)
    rows: int = 0  # column, sheet_column: empty rows under the header
    group: int = -1  # column, sheet_column: the header row it belongs to (0, 1 … in document order)
    caption: str = ""  # column, sheet_column: the heading before the table
    grid_col: int = -1  # column: the header cell's column on the table grid
    numbered: bool = False  # column, sheet_column: the header row has a 序号 column
    long: bool = False  # a section to write in (heading_rows, heading_paras)

    def describe(self) -> str:
        """Where, in words (第2个表格第3行第2格)."""
        return self.where.text()


# -------------------------------------------------------------------------------------------------- Word


def _header_row(table: Table, r: int) -> tuple[list[Cell], int] | None:
    """A row of two or more labels with empty rows under them: its label cells and how many empty rows follow."""
    row = table.rows[r]
    cells = [c for c in row.cells if not c.continued]
    if len(cells) < 2 or not all(label_like(c.text) for c in cells):
        return None
    count = 0
    for nxt in table.rows[r + 1:]:
        if not _empty_under(nxt, cells):
            break
        count += 1
    return (cells, count) if count else None


def _empty_under(row: Row, headers: list[Cell]) -> bool:
    """Whether a row is empty under every header (a 序号 column may hold its printed number)."""
    seen = False
    for head in headers:
        cell = row.at(head.grid_col)
        if cell is None:
            continue
        seen = True
        if _key(head.text) == SEQUENCE and _NUMBER.match(_key(cell.text)):
            continue
        if not blank(cell.text):
            return False
    return seen


def _caption_before(doc: DocxDocument, table: Table) -> str:
    i = next(n for n, block in enumerate(doc.blocks) if block is table)
    for block in reversed(doc.blocks[:i]):
        if isinstance(block, Paragraph):
            if blank(block.text):
                continue
            return block.text.strip() if label_like(block.text) else ""
        return ""
    return ""


def _table_places(doc: DocxDocument, table: Table, group: list[int]) -> list[Place]:
    out: list[Place] = []
    used: set[int] = set()  # rows that belong to a header and its empty rows
    for r in range(len(table.rows)):
        if r in used:
            continue
        header = _header_row(table, r)
        if header is None:
            continue
        cells, count = header
        used.update(range(r, r + 1 + count))
        caption = _caption_before(doc, table) if r == 0 else ""
        numbered = any(_key(c.text) == SEQUENCE for c in cells)
        for cell in cells:
            if _key(cell.text) == SEQUENCE:
                continue
            out.append(Place(cell.text.strip(), "column", Where("table", table=table.index, row=r, cell=cell.index),
                             rows=count, group=group[0], caption=caption, grid_col=cell.grid_col, numbered=numbered))
        group[0] += 1
    for r, row in enumerate(table.rows):
        if r in used:
            continue
        cells = [c for c in row.cells if not c.continued]
        if len(cells) == 1 and label_like(cells[0].text) and r + 1 < len(table.rows):
            below = [c for c in table.rows[r + 1].cells if not c.continued]
            if len(below) == 1 and blank(below[0].text):
                out.append(Place(cells[0].text.strip(), "heading_rows",
                                 Where("table", table=table.index, row=r + 1, cell=below[0].index), long=True))
                used.add(r + 1)
                continue
        for i, cell in enumerate(row.cells):
            if cell.continued or not label_like(cell.text) or i + 1 >= len(row.cells):
                continue
            right = row.cells[i + 1]
            if right.continued:
                continue
            opts = options_of(right.text)
            if blank(right.text) or opts:
                out.append(Place(cell.text.strip(), "cell_right",
                                 Where("table", table=table.index, row=r, cell=right.index),
                                 options=opts, text=right.text if opts else ""))
    return out


def docx_places(doc: DocxDocument) -> list[Place]:
    """Every labelled blank place of a Word document, in document order."""
    out: list[Place] = []
    group = [0]
    title_seen = False
    blocks = doc.blocks
    for b, block in enumerate(blocks):
        if isinstance(block, Table):
            out.extend(_table_places(doc, block, group))
            continue
        text = block.text
        if block.sdts or blank(text):
            continue
        trailing = _TRAILING_BLANK.match(text.strip("\n"))
        if trailing and label_like(trailing.group("label")):
            out.append(Place(trailing.group("label").strip(), "para_right", Where("paragraph", paragraph=block.index)))
            continue
        if not label_like(text) or _ANNEX.match(_key(text)):
            continue
        if not title_seen and len(_key(text)) > 6:
            title_seen = True  # the form's title, not a heading over a place to write
            continue
        nxt = blocks[b + 1] if b + 1 < len(blocks) else None
        if not (isinstance(nxt, Paragraph) and blank(nxt.text) and b + 2 < len(blocks)):
            continue
        after = next((x for x in blocks[b + 1:] if not (isinstance(x, Paragraph) and blank(x.text))), None)
        if isinstance(after, Table) and after.rows and len([c for c in after.rows[0].cells if not c.continued]) > 1:
            continue  # the caption of the table after it, set off by an empty line
        out.append(Place(text.strip(), "heading_paras", Where("paragraph", paragraph=nxt.index), long=True))
    return out


# ------------------------------------------------------------------------------------------------- Excel


def _merged_index(ws) -> dict[tuple[int, int], tuple[int, int, int, int]]:
    """(row, col) of every merged cell → its area (min_row, min_col, max_row, max_col), 1-based."""
    out: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for rng in ws.merged_cells.ranges:
        area = (rng.min_row, rng.min_col, rng.max_row, rng.max_col)
        for r in range(rng.min_row, rng.max_row + 1):
            for c in range(rng.min_col, rng.max_col + 1):
                out[(r, c)] = area
    return out


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _bordered(cell) -> bool:
    b = cell.border
    return any(getattr(side, "style", None) for side in (b.left, b.right, b.top, b.bottom))


def sheet_places(ws, group_start: int = 0) -> list[Place]:
    """Every labelled blank place of one worksheet (openpyxl, 1-based rows and columns)."""
    merged = _merged_index(ws)
    last_row, last_col = ws.max_row, ws.max_column

    def covered(r: int, c: int) -> bool:  # inside a merged area, not its first cell
        area = merged.get((r, c))
        return area is not None and (area[0], area[1]) != (r, c)

    def value(r: int, c: int) -> str:
        return "" if covered(r, c) else _text(ws.cell(r, c).value)

    out: list[Place] = []
    used: set[int] = set()
    group = group_start
    for r in range(1, last_row + 1):
        cols = [c for c in range(1, last_col + 1) if not covered(r, c) and not blank(value(r, c))]
        if len(cols) < 2 or not all(label_like(value(r, c)) for c in cols):
            continue
        # a header row: its labels side by side (no empty cell between them), empty rows under them
        span = [c for c in range(cols[0], cols[-1] + 1) if not covered(r, c)]
        if any(blank(value(r, c)) for c in span):
            continue
        first = max((merged.get((r, c), (r, c, r, c))[2] for c in cols), default=r) + 1
        count = 0
        for rr in range(first, last_row + 1):
            if any(not blank(value(rr, c)) and not (_key(value(r, c)) == SEQUENCE and _NUMBER.match(value(rr, c)))
                   for c in cols):
                break
            count += 1
        if not count:
            continue
        used.update(range(r, first + count))
        caption = ""
        for rr in range(r - 1, 0, -1):
            texts = [value(rr, c) for c in range(1, last_col + 1) if not blank(value(rr, c))]
            if texts:
                caption = texts[0].strip() if len(texts) == 1 and label_like(texts[0]) else ""
                break
        numbered = any(_key(value(r, c)) == SEQUENCE for c in cols)
        for c in cols:
            if _key(value(r, c)) == SEQUENCE:
                continue
            ref = ws.cell(r, c).coordinate
            out.append(Place(value(r, c).strip(), "sheet_column", Where("sheet", sheet=ws.title, ref=ref),
                             rows=count, group=group, caption=caption, grid_col=c, numbered=numbered))
        group += 1
    for r in range(1, last_row + 1):
        if r in used:
            continue
        for c in range(1, last_col + 1):
            text = value(r, c)
            if not label_like(text):
                continue
            end = merged.get((r, c), (r, c, r, c))[3]
            if end + 1 > last_col:
                continue
            right = ws.cell(r, end + 1)
            rtext = value(r, end + 1)
            opts = options_of(rtext)
            if not (blank(rtext) or opts) or covered(r, end + 1):
                continue
            if not (opts or _bordered(right) or (r, end + 1) in merged or text.strip().endswith((":", "："))):
                continue
            out.append(Place(text.strip(), "sheet_label", Where("sheet", sheet=ws.title, ref=right.coordinate),
                             options=opts, text=rtext if opts else ""))
    return sorted(out, key=lambda p: _row_col(p.where.ref or ""))


def _row_col(ref: str) -> tuple[int, int]:
    """A1 → (1, 1): places in reading order, row by row."""
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string

    letters, row = coordinate_from_string(ref)
    return row, column_index_from_string(letters)


def form_sheet(wb):
    """The worksheet holding the form: the first visible one (a form is one sheet; _meta is the stamp's)."""
    for ws in wb.worksheets:
        if ws.sheet_state == "visible" and ws.title != "_meta":
            return ws
    return wb.worksheets[0]


_BOXED = re.compile(r"([□☐])(\s*)([^□☐]*?)(\s*)(?=[□☐]|$)")
TICK = "☑"


def ticked(written: str, chosen: object) -> str:
    """The boxes as the template writes them (□是　□否) with the chosen option's box ticked (☑是　□否);
    unchanged when nothing, or nothing listed, is chosen."""
    want = _key("" if chosen is None else str(chosen))
    if not want:
        return written
    return _BOXED.sub(lambda m: (TICK if _key(m.group(3)) == want else m.group(1)) + m.group(2) + m.group(3)
                      + m.group(4), written)
