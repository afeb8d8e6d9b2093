"""Where each field sits in a form, learned from the form's own template.

The parser's fallback anchors are the visible labels, and the template already says which label belongs to
which field: the content control tagged ``group_name`` sits in the cell right of the cell that reads 集团名称.
Reading that from the template (instead of writing it down a second time) keeps one definition per form: an
operator who rewords a label in the template changes what the parser looks for, with no code.

Locator kinds:

``cell_right``    the value is in the cell(s) right of a label cell (集团名称 | value)
``cell_below``    the value is under a header cell (学校 / 21)
``heading_rows``  a one-column table: a heading row, the value in the rows after it
``heading_paras`` a heading paragraph, the value in the paragraphs after it
``column``        a column of a repeated table, by its header text
``sheet_label``   a spreadsheet cell right of a label cell (推荐单位（盖章）： | value)
"""

from __future__ import annotations

import functools
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from service.forms.catalog import Form
from service.office.docx import Paragraph, Table, read_docx

_JINJA = re.compile(r"\{[{%#].*?[}%#]\}", re.S)
_CIRCLED = re.compile(r"^\s*[①-⑳]\s*")
_ENUMERATOR = re.compile(r"^(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[、.．]|\d+[、.．)）]|[①-⑳])\s*")


@functools.lru_cache(maxsize=65536)
def label_key(text: str) -> str:
    """How labels are compared: width-folded, without blanks and a trailing colon."""
    t = unicodedata.normalize("NFKC", text)
    t = re.sub(r"\s+", "", t)
    return t.rstrip(":：")


@functools.lru_cache(maxsize=65536)
def core_key(text: str) -> str:
    """A label without its enumerator: （一）治理结构, 一、治理结构 and ①治理结构 all give 治理结构.

    A circled number goes first: width folding would turn ① into a bare 1 that no longer reads as an enumerator."""
    return _ENUMERATOR.sub("", label_key(_CIRCLED.sub("", text)))


@dataclass(frozen=True)
class Locator:
    """How to find one field without its anchor."""

    path: str
    kind: str
    label: str
    array: str | None = None
    static: tuple[str, ...] = ()  # template text in the value's cell, not part of the value (牵头单位（盖章）)
    cell: str = ""  # spreadsheet: the template's cell (C3)


@dataclass(frozen=True)
class Layout:
    """All locators of a form plus what identifies it: its title and every static label of its template."""

    form_id: str
    kind: str
    locators: dict[str, Locator]
    labels: frozenset[str]  # label_key of every static text: where one value ends and the next label starts
    signature: frozenset[str]  # the labels that identify the form when its stamp is gone
    title: str
    sheet: str = ""
    header_row: int = 0  # spreadsheet: 1-based row of the repeated table's header
    aliases: tuple[tuple[str, str], ...] = ()  # (control alias, field path) as the template names them

    def columns(self, array: str) -> list[Locator]:
        return [loc for loc in self.locators.values() if loc.array == array]

    @functools.cached_property
    def cores(self) -> frozenset[str]:
        """The labels without their enumerators (core_key), computed once per form."""
        return frozenset(core_key(x) for x in self.labels)

    @functools.cached_property
    def section_cores(self) -> frozenset[str]:
        """The core_key of every section heading (a narrative's label): text typed after one still opens it."""
        return frozenset(core_key(loc.label) for loc in self.locators.values()
                         if loc.kind in ("heading_rows", "heading_paras"))

    @property
    def arrays(self) -> list[str]:
        seen: list[str] = []
        for loc in self.locators.values():
            if loc.array and loc.array not in seen:
                seen.append(loc.array)
        return seen


def _static(text: str) -> str:
    return _JINJA.sub("", text).strip()


def _docx_layout(form: Form) -> Layout:
    with zipfile.ZipFile(form.template_path) as zf:
        doc = read_docx(zf)
    paths = {f.path for f in form.fields}
    locators: dict[str, Locator] = {}
    labels: set[str] = set()
    last_static: Paragraph | None = None
    title = ""
    for block in doc.blocks:
        if isinstance(block, Paragraph):
            tags = [s.tag for s in block.sdts if s.tag in paths]
            if tags:
                if last_static is not None:
                    for tag in tags:
                        locators[tag] = Locator(tag, "heading_paras", last_static.text)
            elif _static(block.text):
                labels.add(label_key(block.text))
                if not title and len(label_key(block.text)) > 6 and not label_key(block.text).startswith("附件"):
                    title = block.text
                last_static = block
            continue
        _table_locators(block, paths, locators, labels)
    signature = frozenset(label_key(loc.label) for loc in locators.values()) | ({label_key(title)} if title else set())
    aliases = tuple(sorted({(s.alias, s.tag) for s in doc.sdts if s.alias and s.tag in paths}))
    return Layout(form.id, "docx", locators, frozenset(labels), signature, title, aliases=aliases)


def _table_locators(table: Table, paths: set[str], locators: dict[str, Locator], labels: set[str]) -> None:
    for row in table.rows:
        for cell in row.cells:
            if not cell.sdts and _static(cell.text):
                labels.add(label_key(cell.text))
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            tags = [s.tag for s in cell.sdts if s.tag in paths]
            if not tags:
                continue
            tag = tags[0]
            static = tuple(line for line in (_static(x) for x in _JINJA.sub("\n", cell.text).split("\n")) if line)
            if "[]." in tag:
                header = _header_above(table, r, cell.grid_col)
                if header:
                    locators[tag] = Locator(tag, "column", header, array=tag.split("[]", 1)[0])
                continue
            left = row.cells[c - 1] if c > 0 else None
            if left is not None and not left.sdts and _static(left.text):
                locators[tag] = Locator(tag, "cell_right", left.text, static=static)
                continue
            above = table.rows[r - 1].at(cell.grid_col) if r > 0 else None
            if above is not None and not above.sdts and _static(above.text):
                kind = "heading_rows" if len(table.rows[r - 1].cells) == 1 else "cell_below"
                locators[tag] = Locator(tag, kind, above.text, static=static)


def _header_above(table: Table, r: int, grid_col: int) -> str:
    for k in range(r - 1, -1, -1):
        row = table.rows[k]
        if row.text.startswith("{%") or not _static(row.text):
            continue
        cell = row.at(grid_col)
        return cell.text if cell is not None and _static(cell.text) else ""
    return ""


def _xlsx_layout(form: Form) -> Layout:
    from openpyxl import load_workbook
    from openpyxl.utils import range_boundaries

    wb = load_workbook(form.template_path)
    locators: dict[str, Locator] = {}
    labels: set[str] = set()
    sheet_name, header_row, title = "", 0, ""
    paths = {f.path for f in form.fields}
    for name, dn in wb.defined_names.items():
        dests = list(dn.destinations)
        if not dests:
            continue
        sheet_name, ref = dests[0]
        ws = wb[sheet_name]
        col, row, _c2, _r2 = range_boundaries(ref.replace("$", ""))
        if name.startswith(tuple(f"{a}." for a in {p.split("[]")[0] for p in paths if "[]" in p})):
            array, key = name.split(".", 1)
            path = f"{array}[].{key}"
            if path in paths:
                header_row = row
                locators[path] = Locator(path, "column", str(ws.cell(row, col).value or ""), array=array,
                                         cell=ws.cell(row, col).coordinate)
            continue
        if name not in paths:
            continue
        label = ""
        for c in range(col - 1, 0, -1):
            value = ws.cell(row, c).value
            if value not in (None, ""):
                label = str(value)
                break
        locators[name] = Locator(name, "sheet_label", label, cell=ws.cell(row, col).coordinate)
    ws = wb[sheet_name] if sheet_name else wb.worksheets[0]
    for row in ws.iter_rows(max_row=max(header_row, 1)):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.strip():
                labels.add(label_key(cell.value))
                if not title and len(label_key(cell.value)) > 6 and not label_key(cell.value).startswith("附件"):
                    title = cell.value
    signature = frozenset(label_key(loc.label) for loc in locators.values()) | ({label_key(title)} if title else set())
    return Layout(form.id, "xlsx", locators, frozenset(labels), signature, title, sheet=ws.title, header_row=header_row)


@functools.cache
def layout(form: Form) -> Layout:
    """The form's layout, read once per process from its template."""
    return _docx_layout(form) if form.kind == "docx" else _xlsx_layout(form)
