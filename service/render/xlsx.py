"""Rendering of .xlsx templates whose fields are defined names.

A scalar field is the defined name equal to its path; a repeated table is a keyed header row whose cells
are defined names ``<array>.<key>``, with one data row per item below it. The identity stamp goes into a
very-hidden ``_meta`` sheet and the custom document properties (both survive a LibreOffice re-save).
"""

from __future__ import annotations

import copy
import io
from pathlib import Path

from openpyxl import load_workbook
from openpyxl.cell.cell import Cell
from openpyxl.packaging.custom import StringProperty
from openpyxl.workbook.workbook import Workbook

from service.forms.fields import Field, arrays
from service.forms.places import ticked
from service.forms.stamp import Stamp

META_SHEET = "_meta"


def name_cell(wb: Workbook, name: str) -> Cell | None:
    """The single cell a defined name points at, or None when the name is missing."""
    dn = wb.defined_names.get(name)
    if dn is None:
        return None
    for sheet, ref in dn.destinations:
        return wb[sheet][ref.replace("$", "").split(":")[0]]
    return None


def _put(cell: Cell, value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool):
        value = "是" if value else "否"
    if isinstance(value, (list, tuple)):
        value = "、".join(str(v) for v in value)
    if isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # never a formula, whatever the text starts with
    else:
        cell.value = value


class XlsxRenderer:
    """Renders one .xlsx template; the template bytes are read once."""

    def __init__(self, template: Path | bytes, fields: list[Field], choices: dict[str, str] | None = None) -> None:
        self._template = template if isinstance(template, bytes) else Path(template).read_bytes()
        self._fields = fields
        self._choices = choices or {}  # path → the boxes the template writes (□是　□否), ticked when rendered

    def render(self, record: dict, stamp: Stamp, blank_rows: dict[str, int]) -> bytes:
        wb = load_workbook(io.BytesIO(self._template))
        for f in self._fields:
            if f.array is None:
                cell = name_cell(wb, f.path)
                if cell is not None and f.path in self._choices:
                    _put(cell, ticked(self._choices[f.path], record.get(f.path)))
                elif cell is not None:
                    _put(cell, record.get(f.path))
        for array, columns in arrays(self._fields).items():
            items = list(record.get(array) or [])
            header = {c.key: name_cell(wb, f"{array}.{c.key}") for c in columns}
            anchor = next((c for c in header.values() if c is not None), None)
            if anchor is None:
                continue
            ws = anchor.parent
            styled = anchor.row + max(1, blank_rows.get(array, 1))
            for i in range(max(len(items), blank_rows.get(array, 0))):
                row = anchor.row + 1 + i
                for col in columns:
                    head = header[col.key]
                    if head is None:
                        continue
                    cell = ws.cell(row=row, column=head.column)
                    if row > styled:  # grow the table with the look of its last template row
                        proto = ws.cell(row=styled, column=head.column)
                        cell._style = copy.copy(proto._style)
                        ws.row_dimensions[row].height = ws.row_dimensions[styled].height
                    if i < len(items):
                        _put(cell, items[i].get(col.key))
        meta = wb[META_SHEET] if META_SHEET in wb.sheetnames else wb.create_sheet(META_SHEET)
        meta.sheet_state = "veryHidden"
        for r, (k, v) in enumerate(stamp.properties().items(), start=2):
            meta.cell(row=r, column=1, value=k)
            meta.cell(row=r, column=2, value=v)
        for k, v in stamp.properties().items():
            wb.custom_doc_props.append(StringProperty(name=k, value=v))
        buf = io.BytesIO()
        wb.save(buf)
        return buf.getvalue()
