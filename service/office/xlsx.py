"""A fast read of a returned .xlsx: every sheet's cell values, merged areas, defined names and properties.

python-calamine reads a workbook about thirty times faster than openpyxl; it returns numbers as floats
and dates as ``datetime`` values, which :mod:`normalize` turns into field values. Defined names and custom
properties (the identity stamp) are read from their XML parts through the zip guard and hardened XML parser,
and every XML part is checked for DTDs before the Rust reader sees it.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import python_calamine as pc

from service.office.docx import read_properties
from service.office.limits import DEFAULT_LIMITS, Limits
from service.office.marks import STRUCK_END, STRUCK_START, CellError
from service.office.rejected import InputRejected
from service.office.xml import has_dtd, parse_xml
from service.office.zipguard import read_member

_REF = re.compile(r"^(?:'((?:[^']|'')+)'|([^!]+))!\$?([A-Z]{1,3})\$?(\d+)(?::\$?[A-Z]{1,3}\$?\d+)?$")


@dataclass
class Sheet:
    name: str
    visible: bool
    rows: list[list[Any]]  # from A1; "" for an empty cell, a CellError where a formula failed
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # 0-based (row1, col1, row2, col2)
    hidden_rows: frozenset[int] = frozenset()  # 0-based rows hidden in Excel: not seen on screen or on paper

    def value(self, row: int, col: int) -> Any:
        if 0 <= row < len(self.rows) and 0 <= col < len(self.rows[row]):
            return self.rows[row][col]
        return ""

    def merge_end(self, row: int, col: int) -> int:
        """The last column of the merged area starting at (row, col), or col."""
        for r1, c1, r2, c2 in self.merged:
            if r1 <= row <= r2 and c1 <= col <= c2:
                return c2
        return col


@dataclass
class XlsxDocument:
    sheets: list[Sheet]
    names: dict[str, tuple[str, int, int]]  # defined name → (sheet, 0-based row, 0-based col)
    custom: dict[str, str]
    application: str

    def sheet(self, name: str) -> Sheet | None:
        return next((s for s in self.sheets if s.name == name), None)


def col_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def cell_ref(row: int, col: int) -> str:
    """0-based (row, col) → A1."""
    letters = ""
    col += 1
    while col:
        col, rem = divmod(col - 1, 26)
        letters = chr(65 + rem) + letters
    return f"{letters}{row + 1}"


_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b([^>]*)>")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\b([^>]*)>(.*?)</(?:\w+:)?c>", re.S)
_ATTR = re.compile(rb"""\b(r|t|s|hidden)\s*=\s*["']([^"']*)["']""")  # of a row or cell tag
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d+)$")
_CELL_POSITION = re.compile(rb"<(?:\w+:)?c\s[^>]*?\br\s*=\s*[\"']([A-Z]{1,3})(\d{1,7})[\"']")
_CELL_OPENERS = (b"<c ", b"<c>", b":c ", b":c>", b"<c\t", b"<c\n", b"<c\r")


def _check_extent(parts: dict[str, bytes], limits: Limits) -> None:
    """Refuse a workbook whose sheets span more cells than the reader may allocate, before it allocates them.

    First a count of cell tags (a bound, in C), then the used rectangle of each sheet from the cell
    references: calamine builds that whole rectangle, however few cells are filled.
    """
    total = 0
    for name, xml in parts.items():
        count = sum(xml.count(opener) for opener in _CELL_OPENERS)
        if count > limits.max_sheet_cells:
            raise InputRejected("SHEET_TOO_LARGE", detail={"part": name, "cells": count})
        rows = cols = 0
        for m in _CELL_POSITION.finditer(xml):
            rows = max(rows, int(m.group(2)))
            cols = max(cols, col_index(m.group(1).decode()) + 1)
        total += rows * cols
        if total > limits.max_sheet_cells:
            last = cell_ref(rows - 1, cols - 1)
            raise InputRejected(
                "SHEET_TOO_LARGE",
                message=f"工作表用到的区域达到 A1:{last}（约 {rows * cols:,} 个单元格），超出平台处理上限"
                        f"（{limits.max_sheet_cells:,} 个）。请删除表格以外的多余行列（选中后“删除”，不是只清除内容）"
                        "后重新上传。",
                detail={"part": name, "extent": f"A1:{last}", "limit": limits.max_sheet_cells})


def _sheet_parts(xml: dict[str, bytes], workbook: Any, limits: Limits) -> dict[str, str]:
    """Sheet name → its part in the package (through the workbook's relationships)."""
    rels = xml.get("xl/_rels/workbook.xml.rels")
    if rels is None:
        return {}
    targets = {}
    for rel in parse_xml(rels, limits):
        target = (rel.get("Target") or "").lstrip("/")
        targets[rel.get("Id")] = target if target.startswith("xl/") else "xl/" + target
    out = {}
    for el in workbook.iter():
        if isinstance(el.tag, str) and el.tag.endswith("}sheet"):
            rid = next((v for k, v in el.attrib.items() if k.endswith("}id")), None)
            if rid in targets:
                out[el.get("name", "")] = targets[rid]
    return out


def _what_calamine_hides(xml: bytes) -> tuple[frozenset[int], dict[tuple[int, int], str]]:
    """Hidden rows and cells whose formula gave an error (#DIV/0!, #REF! …): calamine reads both as plain."""
    hidden = set()
    for m in _ROW_TAG.finditer(xml):
        attrs = dict(_ATTR.findall(m.group(1)))
        if attrs.get(b"hidden") in (b"1", b"true") and attrs.get(b"r", b"").isdigit():
            hidden.add(int(attrs[b"r"]) - 1)
    errors = {}
    if b't="e"' in xml or b"t='e'" in xml:
        for m in _CELL_TAG.finditer(xml):
            attrs = dict(_ATTR.findall(m.group(1)))
            ref = _CELL_REF.match(attrs.get(b"r", b"").decode("ascii", "replace"))
            if attrs.get(b"t") == b"e" and ref:
                value = _VALUE.search(m.group(2))
                errors[(int(ref.group(2)) - 1, col_index(ref.group(1)))] = (
                    value.group(1).decode("utf-8", "replace") if value else "#ERROR")
    return frozenset(hidden), errors


_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"


def _struck_on(el: Any) -> bool:
    strike = el.find(_MAIN + "strike") if el is not None else None
    return strike is not None and (strike.get("val") or "true").lower() not in ("0", "false", "off")


def _struck_styles(styles: bytes | None, limits: Limits) -> set[int]:
    """Cell formats (cellXfs indexes) whose font is struck through."""
    if not styles or b"strike" not in styles:
        return set()
    root = parse_xml(styles, limits)
    fonts = root.find(_MAIN + "fonts")
    struck_fonts = {i for i, font in enumerate(fonts if fonts is not None else []) if _struck_on(font)}
    xfs = root.find(_MAIN + "cellXfs")
    return {i for i, xf in enumerate(xfs if xfs is not None else []) if int(xf.get("fontId") or 0) in struck_fonts}


def _with_struck_marks(string: Any) -> str | None:
    """A rich string (``si`` or ``is``) with its struck-through runs between the marks; None if none is struck."""
    runs = string.findall(_MAIN + "r")
    if not any(_struck_on(r.find(_MAIN + "rPr")) for r in runs):
        return None
    parts = []
    for r in runs:
        text = "".join(t.text or "" for t in r.iter(_MAIN + "t"))
        parts.append(STRUCK_START + text + STRUCK_END if _struck_on(r.find(_MAIN + "rPr")) and text else text)
    return "".join(parts)


def _struck_strings(shared: bytes | None, limits: Limits) -> dict[int, str]:
    """Shared strings with some runs struck through, as text with those runs between the struck marks."""
    if not shared or b"strike" not in shared:
        return {}
    out = {}
    for i, si in enumerate(parse_xml(shared, limits)):
        marked = _with_struck_marks(si)
        if marked is not None:
            out[i] = marked
    return out


def _mark_struck(rows: list[list[Any]], xml: bytes, struck_xfs: set[int], struck_strings: dict[int, str]) -> None:
    """Cells in a struck-through font, or holding a partly struck string, read with the struck marks."""
    for m in _CELL_TAG.finditer(xml):
        attrs = dict(_ATTR.findall(m.group(1)))
        ref = _CELL_REF.match(attrs.get(b"r", b"").decode("ascii", "replace"))
        if not ref:
            continue
        r, c = int(ref.group(2)) - 1, col_index(ref.group(1))
        if r >= len(rows) or c >= len(rows[r]) or rows[r][c] in ("", None):
            continue
        value = _VALUE.search(m.group(2))
        if attrs.get(b"t") == b"s" and value and value.group(1).strip().isdigit() \
                and int(value.group(1)) in struck_strings:
            rows[r][c] = struck_strings[int(value.group(1))]
        elif attrs.get(b"t") == b"inlineStr" and b"strike" in m.group(2):
            inline = parse_xml(b'<c xmlns="' + _MAIN[1:-1].encode() + b'">' + m.group(2) + b"</c>")
            marked = _with_struck_marks(inline.find(_MAIN + "is"))
            if marked is not None:
                rows[r][c] = marked
        elif attrs.get(b"s", b"").isdigit() and int(attrs[b"s"]) in struck_xfs:
            shown = rows[r][c]
            if isinstance(shown, float) and shown.is_integer():
                shown = int(shown)  # a count as displayed, not calamine's float
            rows[r][c] = STRUCK_START + str(shown) + STRUCK_END


def _defined_names(root: Any) -> dict[str, tuple[str, int, int]]:
    out: dict[str, tuple[str, int, int]] = {}
    for el in root.iter():
        if not isinstance(el.tag, str) or not el.tag.endswith("}definedName") or el.get("localSheetId") is not None:
            continue
        m = _REF.match((el.text or "").strip())
        if m:
            sheet = (m.group(1) or "").replace("''", "'") or m.group(2)
            out[el.get("name", "")] = (sheet, int(m.group(4)) - 1, col_index(m.group(3)))
    return out


_READ_EXTS = (".xml", ".rels", ".vml")


def reads_part(name: str) -> bool:
    """Whether :func:`read_xlsx` reads this member (every XML part): worth keeping when the checks inflate it."""
    return name.lower().endswith(_READ_EXTS)


def read_xlsx(data: bytes, zf: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS,
              inflated: Mapping[str, bytes] | None = None) -> XlsxDocument:
    """Read a vetted .xlsx package (``zf`` opened on ``data`` by :func:`sniff.open_package`).

    ``inflated``: members the package's checks already read through the guard with these ``limits``
    (:func:`service.office.sniff.sniff_open`), so that they are not inflated a second time.
    """
    xml: dict[str, bytes] = {}
    for info in zf.infolist():
        if reads_part(info.filename):
            if inflated is not None and info.filename in inflated:
                xml[info.filename] = inflated[info.filename]
            else:
                xml[info.filename] = read_member(zf, info.filename, limits)
            if len(xml[info.filename]) > limits.max_xml_bytes:
                raise InputRejected("XML_TOO_LARGE", detail={"entry": info.filename, "size": len(xml[info.filename]),
                                                             "limit": limits.max_xml_bytes})
            if has_dtd(xml[info.filename]):
                raise InputRejected("XML_HOSTILE", detail={"reason": "doctype", "entry": info.filename})
    if "xl/workbook.xml" not in xml:
        raise InputRejected("OOXML_INVALID", detail={"missing": "xl/workbook.xml"})
    workbook = parse_xml(xml["xl/workbook.xml"], limits)
    names = _defined_names(workbook)
    parts = _sheet_parts(xml, workbook, limits)
    _check_extent({part: xml[part] for part in set(parts.values()) if part in xml}, limits)
    custom, app = read_properties(zf, limits, inflated)
    struck_xfs = _struck_styles(xml.get("xl/styles.xml"), limits)
    struck_strings = _struck_strings(xml.get("xl/sharedStrings.xml"), limits)
    try:
        book = pc.CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for meta in book.sheets_metadata:
            if meta.typ != pc.SheetTypeEnum.WorkSheet:
                continue
            sheet = book.get_sheet_by_name(meta.name)
            rows = sheet.to_python(skip_empty_area=False)
            merged = [(a[0], a[1], b[0], b[1]) for a, b in (sheet.merged_cell_ranges or [])]
            hidden: frozenset[int] = frozenset()
            if parts.get(meta.name) in xml:
                hidden, errors = _what_calamine_hides(xml[parts[meta.name]])
                if struck_xfs or struck_strings or b"strike" in xml[parts[meta.name]]:
                    _mark_struck(rows, xml[parts[meta.name]], struck_xfs, struck_strings)
                for (r, c), code in errors.items():
                    if r < len(rows) and c < len(rows[r]):
                        rows[r][c] = CellError(code)
            sheets.append(Sheet(meta.name, meta.visible == pc.SheetVisibleEnum.Visible, rows, merged, hidden))
    except InputRejected:
        raise
    except Exception as exc:  # calamine raises its own error types for broken parts
        raise InputRejected("OOXML_INVALID", detail={"reason": "calamine", "error": str(exc)[:200]}) from exc
    meta_sheet = next((s for s in sheets if s.name == "_meta"), None)
    if meta_sheet is not None:
        for row in meta_sheet.rows[1:]:
            if len(row) >= 2 and isinstance(row[0], str) and row[0].startswith("jth."):
                custom.setdefault(row[0], "" if row[1] is None else str(row[1]))
    return XlsxDocument([s for s in sheets if s.name != "_meta"], names, custom, app)
