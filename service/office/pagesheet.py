"""Pages as a worksheet, for a form that is a spreadsheet (the 汇总表) returned as a PDF or a scan.

A spreadsheet form printed is a grid of rows: a title, “label： value” lines above a table, the table's header
and its rows. Laid out as the rows of one sheet (each table row on the table's columns, each line of text cut
where it has wide gaps and after a “：”), it is read by the same label layout as the workbook itself
(:mod:`service.parse.extract.xlsx`). Each cell's place on the pages is kept as for the document view.
"""

from __future__ import annotations

import re
from typing import Any

from service.office.pages import Line, Page, Place, body_lines, compose, edge_tolerance, table_grid, text_rows
from service.office.xlsx import Sheet, XlsxDocument

#: The sheet's name: a printed page has none; the form's sheet is then chosen by its labels.
SHEET = "扫描页"
_COLON = re.compile(r"^(.{1,20}?[：:])\s*(\S.*)$")


def _pieces(row: list[Line]) -> list[list[Line]]:
    """A row of text cut where a gap is wider than its characters: label, value, next label …"""
    out: list[list[Line]] = []
    for line in row:
        if out and line.box.x0 - out[-1][-1].box.x1 <= 0.6 * max(line.box.height, 1.0):
            out[-1].append(line)
        else:
            out.append([line])
    return out


def build_sheet(pages: list[Page], tolerance: float) -> tuple[XlsxDocument, dict[tuple[object, ...], Place]]:
    """The pages as the rows of one sheet, and each cell's place: ``("sheet", row, column)``."""
    rows: list[list[Any]] = []
    places: dict[tuple[object, ...], Place] = {}
    for page in pages:
        items: list[tuple[float, list[tuple[str, Place]]]] = []
        for cells in page.tables:
            if not cells:
                continue
            grid = table_grid(page.index, cells, edge_tolerance(page, tolerance))
            width = len(grid.xs) - 1
            for entries in grid.rows:
                if not entries:
                    continue
                row: list[tuple[str, Place]] = [("", Place(page.index, entries[0][3].box, 1.0))] * width
                for col, _span, _down, cell in entries:
                    text = "\n".join(p.text for p in compose(cell.lines, cell.box.x1))
                    row[col] = (text, Place(page.index, cell.box, cell.confidence, cell.doubts))
                items.append((min(e[3].box.y0 for e in entries), row))
        for row_lines in text_rows(body_lines(page)):
            row = []
            for piece in _pieces(row_lines):
                text = "".join(line.text for line in piece)
                box = piece[0].box
                for line in piece[1:]:
                    box = box.union(line.box)
                place = Place(page.index, box, min(line.confidence for line in piece),
                              tuple(d for line in piece for d in line.doubts))
                split = _COLON.match(text)
                row += [(split.group(1), place), (split.group(2), place)] if split else [(text, place)]
            items.append((row_lines[0].box.y0, row))
        for _y, row in sorted(items, key=lambda it: it[0]):
            r = len(rows)
            rows.append([text for text, _ in row])
            for c, (_text, place) in enumerate(row):
                places[("sheet", r, c)] = place
    return XlsxDocument([Sheet(SHEET, True, rows)], {}, {}, ""), places
