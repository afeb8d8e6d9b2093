"""Where each field sits in a form, learned from the form's own template.

The parser's fallback anchors are the visible labels, and the template already says which label belongs to
which field: the content control tagged ``group_name`` sits in the cell right of the cell that reads 集团名称.
Reading that from the template (instead of writing it down a second time) keeps one definition per form: an
operator who rewords a label in the template changes what the parser looks for, with no code.

A template is anchored three ways, field by field (:class:`Anchor`):

``control``       a content control tagged with the field's path (the shipped Word templates), or a defined name
                  (``defined_name``: the shipped Excel template)
``expression``    a template expression naming the field (``{{ group_name|paras }}``) whose control lost its tag:
                  what a LibreOffice re-save leaves of a control
``label``         nothing but the document as people know it: the field's label (its schema ``x-label``, else its
                  ``title``) beside, above or as the heading of a blank place (:mod:`service.forms.places`); the
                  renderer fills that place and adds its own anchors to what it writes

Locator kinds (how the parser finds a value without its anchor):

``cell_right``    the value is in the cell(s) right of a label cell (集团名称 | value), or after “label：”
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
from collections.abc import Callable
from dataclasses import dataclass, field

from service.forms.catalog import Form
from service.forms.fields import Field
from service.forms.places import (
    Place,
    docx_places,
    form_sheet,
    number_like,
    options_of,
    sheet_places,
)
from service.office.docx import Paragraph, Table, read_docx
from service.problems.location import Where

_JINJA = re.compile(r"\{[{%#].*?[}%#]\}", re.S)
_CIRCLED = re.compile(r"^\s*[①-⑳]\s*")
_ENUMERATOR = re.compile(r"^(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[、.．]|\d+[、.．)）]|[①-⑳])\s*")
# A template expression's first name and attribute: {{ group_name|paras }}, {{ m.name|paras }}.
_EXPRESSION = re.compile(r"\{\{-?\s*([^\W\d]\w*)(?:\s*\.\s*([^\W\d]\w*))?")
_LOOP = re.compile(r"\{%-?\s*(?:tr\s+|tc\s+|p\s+)?for\s+([^\W\d]\w*)\s+in\s+([^\W\d]\w*)")
_NOT_FIELDS = {"loop", "range", "true", "false", "none", "True", "False", "None"}

CONTROL, EXPRESSION, DEFINED_NAME, LABEL, MISSING = "control", "expression", "defined_name", "label", "missing"
#: How each anchoring is called in messages.
HOW = {CONTROL: "内容控件", EXPRESSION: "模板表达式", DEFINED_NAME: "定义名称", LABEL: "标签", MISSING: "未找到"}


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
class Anchor:
    """How one field is anchored in its template, and where."""

    path: str
    how: str  # control | expression | defined_name | label | missing
    label: str = ""  # the visible label, header or heading by the value
    where: Where | None = None  # the value's place in the template (a column: its header cell)
    place: Place | None = None  # label anchoring: the blank place the renderer fills

    def describe(self) -> str:
        """How and where, in words: 标签“集团名称”（第1个表格第1行第2格）."""
        if self.how == MISSING:
            return HOW[MISSING]
        parts = [HOW[self.how]]
        if self.label:
            parts.append(f"标签“{self.label.strip()}”")
        text = "，".join(parts)
        return text + (f"（{self.where.text()}）" if self.where is not None else "")


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
    anchors: dict[str, Anchor] = field(default_factory=dict)  # every field: how the template anchors it
    unmatched: tuple[Place, ...] = ()  # labelled blank places that match no field
    problems: tuple[str, ...] = ()  # what is wrong with the anchors (a duplicate, a control naming no field …)
    blank_rows: dict[str, int] = field(default_factory=dict)  # per repeated table: its empty rows in the template

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

    @property
    def label_anchored(self) -> dict[str, Anchor]:
        """The fields whose place the renderer fills from a label (the template has no anchor for them)."""
        return {p: a for p, a in self.anchors.items() if a.how == LABEL}


def _static(text: str) -> str:
    return _JINJA.sub("", text).strip()


# --------------------------------------------------------------------------------------------- labels


def field_labels(form: Form) -> dict[str, tuple[str, ...]]:
    """The labels that name each field in a document: its schema ``x-label`` (a text or a list), then its title."""
    props = form.schema.get("properties", {})
    out: dict[str, tuple[str, ...]] = {}
    for f in form.fields:
        spec = (props.get(f.array, {}).get("items", {}).get("properties", {}).get(f.key, {}) if f.array
                else props.get(f.path, {}))
        given = spec.get("x-label")
        labels = [given] if isinstance(given, str) else [x for x in (given or []) if isinstance(x, str)]
        out[f.path] = tuple(dict.fromkeys([*labels, f.title]))
    return out


def _best(places: list[Place], names: tuple[str, ...]) -> tuple[list[Place], str]:
    """The places whose label is one of ``names``: exact keys first, then without enumerators (（一）治理结构)."""
    for name in names:
        hits = [p for p in places if label_key(p.label) == label_key(name)]
        if hits:
            return hits, name
    for name in names:
        hits = [p for p in places if core_key(p.label) == core_key(name) and core_key(name)]
        if hits:
            return hits, name
    return [], ""


@dataclass
class _Matched:
    anchors: dict[str, Anchor]
    locators: dict[str, Locator]
    used: set[Place]
    problems: list[str]
    blank_rows: dict[str, int]


def _match_labels(form: Form, places: list[Place], fields: list[Field], m: _Matched, sheet: bool,
                  below: Callable[[Place], Where] | None = None) -> None:
    """Anchor ``fields`` (none anchored otherwise) to the blank places whose labels name them; ``below``: where
    the value of a header with one empty row under it is (the cell under the header)."""
    names = field_labels(form)
    column_kind = "sheet_column" if sheet else "column"
    free = [p for p in places if p not in m.used]
    by_array: dict[str, list[Field]] = {}
    for f in fields:
        if f.array:
            by_array.setdefault(f.array, []).append(f)
    for array, columns in by_array.items():
        groups = sorted({p.group for p in free if p.kind == column_kind})
        best: tuple[int, int, dict[str, Place]] = (0, -1, {})
        for g in groups:
            heads = [p for p in free if p.kind == column_kind and p.group == g]
            found = {}
            for col in columns:
                hits, _ = _best(heads, names[col.path])
                if len(hits) == 1:
                    found[col.path] = hits[0]
            if len(found) > best[0]:
                best = (len(found), g, found)
        for col in columns:
            place = best[2].get(col.path)
            if place is None:
                m.anchors[col.path] = Anchor(col.path, MISSING)
                continue
            m.used.add(place)
            m.blank_rows[array] = place.rows
            m.anchors[col.path] = Anchor(col.path, LABEL, place.label, place.where, place)
            m.locators[col.path] = Locator(col.path, "column", place.label, array=array, cell=place.where.ref or "")
    scalars = [f for f in fields if not f.array]
    # Fields that share a label (姓名 of the contact and of the leader) take its places in document order.
    sharing: dict[str, int] = {}
    for f in scalars:
        sharing[label_key(names[f.path][0])] = sharing.get(label_key(names[f.path][0]), 0) + 1
    for f in scalars:
        candidates = [p for p in places if p not in m.used and (p.kind != column_kind or not sheet)]
        hits, name = _best(candidates, names[f.path])
        if not hits:
            m.anchors[f.path] = Anchor(f.path, MISSING)
            continue
        key = label_key(name)
        if len(hits) > 1 and sharing.get(key, 0) == len(hits):
            hits = hits[:1]
        sharing[key] = sharing.get(key, 1) - 1
        if len(hits) > 1:
            where = "、".join(p.describe() for p in hits)
            m.problems.append(f"字段 {f.path}（{f.title}）的标签“{name}”在模板中出现 {len(hits)} 次（{where}），"
                              "无法确定填在哪里；请只保留一处，或在 JSON Schema 中用 x-label 写明另一标签")
            m.anchors[f.path] = Anchor(f.path, MISSING)
            continue
        place = hits[0]
        m.used.add(place)
        m.anchors[f.path] = Anchor(f.path, LABEL, place.label, place.where, place)
        if place.kind == "column":
            kind = "cell_below"
            m.anchors[f.path] = Anchor(f.path, LABEL, place.label, below(place) if below else place.where, place)
        elif place.kind == "para_right":
            kind = "cell_right"
        else:
            kind = place.kind
        m.locators[f.path] = Locator(f.path, kind, place.label, cell=place.where.ref or "")


def _unmatched(places: list[Place], used: set[Place]) -> tuple[Place, ...]:
    return tuple(p for p in places if p not in used)


# ---------------------------------------------------------------------------------------------- Word


def expression_paths(text: str, loops: dict[str, str]) -> list[str]:
    """The fields a text's template expressions name: ``{{ group_name|paras }}`` → group_name, ``{{ m.name }}``
    inside ``{%tr for m in members %}`` → members[].name."""
    out = []
    for m in _EXPRESSION.finditer(text):
        head, attr = m.group(1), m.group(2)
        if head in _NOT_FIELDS:
            continue
        if head in loops:
            if attr:
                out.append(f"{loops[head]}[].{attr}")
            continue
        out.append(head)
    return out


def template_loops(text: str) -> dict[str, str]:
    """Loop variable → repeated table, from every ``{%tr for m in members %}`` of a template's text."""
    return {m.group(1): m.group(2) for m in _LOOP.finditer(text)}


class _Held:
    """What a cell or paragraph of a template holds: fields by control tag, else by template expression."""

    def __init__(self, paths: set[str], loops: dict[str, str]) -> None:
        self.paths, self.loops = paths, loops
        self.strays: list[str] = []

    def __call__(self, sdts: list, text: str) -> list[tuple[str, str]]:
        tagged = [(s.tag, CONTROL) for s in sdts if s.tag in self.paths]
        if tagged:
            return tagged
        named = expression_paths(text, self.loops)
        self.strays.extend(p for p in named if p not in self.paths)
        return [(p, EXPRESSION) for p in dict.fromkeys(named) if p in self.paths]


def _docx_layout(form: Form) -> Layout:
    with zipfile.ZipFile(form.template_path) as zf:
        doc = read_docx(zf)
    paths = {f.path for f in form.fields}
    texts = [b.text if isinstance(b, Paragraph) else "\n".join(c.text for r in b.rows for c in r.cells)
             for b in doc.blocks]
    held = _Held(paths, template_loops("\n".join(texts)))
    m = _Matched({}, {}, set(), [], {})
    counts: dict[str, int] = {}
    labels: set[str] = set()
    last_static: Paragraph | None = None
    title = ""
    for block in doc.blocks:
        if isinstance(block, Paragraph):
            found = held(block.sdts, block.text)
            for path, how in found:
                counts[path] = counts.get(path, 0) + 1
                where = Where("paragraph", paragraph=block.index)
                label = last_static.text if last_static is not None else ""
                m.anchors.setdefault(path, Anchor(path, how, label, where))
                if last_static is not None:
                    m.locators[path] = Locator(path, "heading_paras", last_static.text)
            if not found and _static(block.text) and not options_of(block.text):
                labels.add(label_key(block.text))
                if not title and len(label_key(block.text)) > 6 and not label_key(block.text).startswith("附件"):
                    title = block.text
                last_static = block
            continue
        _table_locators(block, held, m, counts, labels)
    for path, n in sorted(counts.items()):
        if n > 1 and "[]." not in path:
            m.problems.append(f"字段 {path} 在模板中有 {n} 处（内容控件或模板表达式），应只有一处")
    for stray in sorted(set(held.strays)):
        m.problems.append(f"模板表达式 {{{{ {stray} }}}} 不对应任何字段（JSON Schema 中没有 {stray}）")
    for sdt in doc.sdts:
        if sdt.tag and sdt.tag not in paths:
            m.problems.append(f"模板中的内容控件 {sdt.tag} 不对应任何字段")
        elif sdt.tag and sdt.plain:
            m.problems.append(f"内容控件 {sdt.tag} 是纯文本控件，LibreOffice 另存时会重复其文字；请改为格式文本控件")
    places = docx_places(doc)
    tables = doc.tables

    def below(place: Place) -> Where:  # 学校 / 21: the cell under the header
        w = place.where
        cell = tables[w.table].rows[w.row + 1].at(place.grid_col)
        return Where("table", table=w.table, row=w.row + 1, cell=cell.index if cell is not None else w.cell)

    _match_labels(form, places, [f for f in form.fields if f.path not in m.anchors], m, sheet=False, below=below)
    # A blank place whose label is already a located field's is that field's, not an unknown label.
    located = {label_key(loc.label) for loc in m.locators.values()}
    unmatched = tuple(p for p in _unmatched(places, m.used) if label_key(p.label) not in located)
    signature = frozenset(label_key(loc.label) for loc in m.locators.values()) | ({label_key(title)} if title else set())
    aliases = tuple(sorted({(s.alias, s.tag) for s in doc.sdts if s.alias and s.tag in paths}))
    return Layout(form.id, "docx", m.locators, frozenset(labels), signature, title, aliases=aliases,
                  anchors=_ordered(form, m.anchors), unmatched=unmatched, problems=tuple(m.problems),
                  blank_rows=m.blank_rows)


def _ordered(form: Form, anchors: dict[str, Anchor]) -> dict[str, Anchor]:
    return {f.path: anchors.get(f.path, Anchor(f.path, MISSING)) for f in form.fields}


def _table_locators(table: Table, held: _Held, m: _Matched, counts: dict[str, int], labels: set[str]) -> None:
    for row in table.rows:
        for cell in row.cells:
            if not cell.sdts and _static(cell.text) and not (options_of(cell.text) or number_like(cell.text)):
                labels.add(label_key(cell.text))
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            found = held(cell.sdts, cell.text)
            if not found:
                continue
            for path, _how in found:
                counts[path] = counts.get(path, 0) + 1
            tag, how = found[0]
            where = Where("table", table=table.index, row=r, cell=c)
            static = tuple(line for line in (_static(x) for x in _JINJA.sub("\n", cell.text).split("\n")) if line)
            if "[]." in tag:
                header = _header_above(table, r, cell.grid_col)
                m.anchors.setdefault(tag, Anchor(tag, how, header, where))
                if header:
                    m.locators[tag] = Locator(tag, "column", header, array=tag.split("[]", 1)[0])
                continue
            left = row.cells[c - 1] if c > 0 else None
            if left is not None and not held(left.sdts, left.text) and _static(left.text):
                m.anchors.setdefault(tag, Anchor(tag, how, left.text, where))
                m.locators[tag] = Locator(tag, "cell_right", left.text, static=static)
                continue
            above = table.rows[r - 1].at(cell.grid_col) if r > 0 else None
            if above is not None and not held(above.sdts, above.text) and _static(above.text):
                kind = "heading_rows" if len(table.rows[r - 1].cells) == 1 else "cell_below"
                m.anchors.setdefault(tag, Anchor(tag, how, above.text, where))
                m.locators[tag] = Locator(tag, kind, above.text, static=static)
                continue
            m.anchors.setdefault(tag, Anchor(tag, how, "", where))


def _header_above(table: Table, r: int, grid_col: int) -> str:
    for k in range(r - 1, -1, -1):
        row = table.rows[k]
        if row.text.startswith("{%") or not _static(row.text):
            continue
        cell = row.at(grid_col)
        return cell.text if cell is not None and _static(cell.text) else ""
    return ""


# --------------------------------------------------------------------------------------------- Excel


def _xlsx_layout(form: Form) -> Layout:
    from openpyxl import load_workbook
    from openpyxl.utils import range_boundaries

    wb = load_workbook(form.template_path)
    m = _Matched({}, {}, set(), [], {})
    labels: set[str] = set()
    sheet_name, header_row, title = "", 0, ""
    paths = {f.path for f in form.fields}
    arrays = {p.split("[]")[0] for p in paths if "[]" in p}
    for name, dn in wb.defined_names.items():
        dests = list(dn.destinations)
        if not dests:
            continue
        if name.startswith("_xlnm"):
            continue
        head, _, tail = name.partition(".")
        path = f"{head}[].{tail}" if head in arrays and tail else name
        if path not in paths:
            m.problems.append(f"模板中的定义名称 {name} 不对应任何字段")
            continue
        if len(dests) != 1 or ":" in dests[0][1] or dests[0][0] not in wb.sheetnames:
            m.problems.append(f"定义名称 {name} 应指向一个单元格")
            continue
        sheet_name, ref = dests[0]
        ws = wb[sheet_name]
        col, row, _c2, _r2 = range_boundaries(ref.replace("$", ""))
        where = Where("sheet", sheet=sheet_name, ref=ws.cell(row, col).coordinate)
        if "[]." in path:
            header_row = row
            head = str(ws.cell(row, col).value or "")
            m.anchors[path] = Anchor(path, DEFINED_NAME, head, where)
            m.locators[path] = Locator(path, "column", head, array=path.split("[]", 1)[0],
                                       cell=ws.cell(row, col).coordinate)
            continue
        label = ""
        for c in range(col - 1, 0, -1):
            value = ws.cell(row, c).value
            if value not in (None, ""):
                label = str(value)
                break
        m.anchors[path] = Anchor(path, DEFINED_NAME, label, where)
        m.locators[path] = Locator(path, "sheet_label", label, cell=ws.cell(row, col).coordinate)
    ws = wb[sheet_name] if sheet_name else form_sheet(wb)
    places = sheet_places(ws)
    _match_labels(form, places, [f for f in form.fields if f.path not in m.anchors], m, sheet=True)
    columns = [a.place for a in m.anchors.values() if a.how == LABEL and a.place and a.place.kind == "sheet_column"]
    if columns:
        header_row = int(re.sub(r"\D", "", columns[0].where.ref or "0") or 0)
    for row in ws.iter_rows(max_row=max(header_row, 1)):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.strip() and not options_of(cell.value) \
                    and not number_like(cell.value):
                labels.add(label_key(cell.value))
                if not title and len(label_key(cell.value)) > 6 and not label_key(cell.value).startswith("附件"):
                    title = cell.value
    located = {label_key(loc.label) for loc in m.locators.values()}
    unmatched = tuple(p for p in _unmatched(places, m.used) if label_key(p.label) not in located)
    signature = frozenset(label_key(loc.label) for loc in m.locators.values()) | ({label_key(title)} if title else set())
    return Layout(form.id, "xlsx", m.locators, frozenset(labels), signature, title, sheet=ws.title,
                  header_row=header_row, anchors=_ordered(form, m.anchors), unmatched=unmatched,
                  problems=tuple(m.problems), blank_rows=m.blank_rows)


@functools.cache
def layout(form: Form) -> Layout:
    """The form's layout, read once per process from its template."""
    return _docx_layout(form) if form.kind == "docx" else _xlsx_layout(form)
