"""Find each field's text in a returned document: by its anchor first, else by the labels around it.

Anchors are the content controls (tag, else alias) in .docx and the defined names in .xlsx. Office suites
drop anchors (a LibreOffice re-save drops control tags, a .doc save drops controls, pasting into a new file
drops everything), so every field can also be found the way a person finds it: the label cell beside it, the
header above it, the heading before it (see :mod:`layout`). Whatever is found is reported with how and where;
when two places disagree, or a value is visibly corrupted, the field is flagged for a person, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.forms.layout import Layout, Locator, core_key, label_key
from service.office.docx import Cell, DocxDocument, Paragraph, Row, Sdt, Table
from service.office.xlsx import Sheet, XlsxDocument, cell_ref
from service.problems.location import Where
from service.problems.report import Problem, problem

CONTENT_CONTROL, DEFINED_NAME, LABEL, HEADER, NOT_FOUND = "content_control", "defined_name", "label", "header", "not_found"


@dataclass
class Found:
    """What was found for one field (or one cell of a repeated table)."""

    path: str
    raw: Any = None
    how: str = NOT_FOUND
    where: Where | None = None
    label: str = ""
    flag: str = ""  # the problem code when a person must decide, worded by the catalogue with these:
    variant: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    candidates: list[Any] = field(default_factory=list)


@dataclass
class Extracted:
    """Scalars by path, repeated tables as lists of rows (key → Found), and where each table was."""

    scalars: dict[str, Found]
    arrays: dict[str, list[dict[str, Found]]]
    array_how: dict[str, tuple[str, Where | None]]
    sheet: str = ""
    problems: list[Problem] = field(default_factory=list)  # another copy of the form in the workbook

    def raw_values(self) -> tuple[dict[str, str], dict[str, list[dict[str, str]]]]:
        """What was read, compared the way labels are (blanks and widths ignored)."""
        def key(found: Found) -> str:
            return label_key(str(found.raw)) if not _is_blank(found.raw) else ""
        return ({p: key(f) for p, f in self.scalars.items()},
                {a: [{k: key(f) for k, f in item.items()} for item in items] for a, items in self.arrays.items()})


def repeated_unit(text: str) -> str | None:
    """The unit when ``text`` is that unit written two or more times over (张三张三张三张三 → 张三)."""
    if len(text) < 4:
        return None
    i = (text + text).find(text, 1)
    if i < len(text) and len(text) // i >= 2 and i >= 2:
        return text[:i]
    return None


def _corrupted(found: Found, text: str, sdts: list[Sdt], where: Where | None) -> bool:
    """Flag a value that LibreOffice wrote several times over into plain-text controls."""
    unit = repeated_unit(text.strip())
    if unit and any(s.plain for s in sdts):
        found.flag, found.candidates, found.where = "FIELD_CORRUPTED", [unit], where
        return True
    return False


def _strip_static(text: str, static: tuple[str, ...]) -> str:
    if not static:
        return text
    keys = {label_key(s) for s in static}
    lines = []
    for line in text.split("\n"):
        if label_key(line) in keys:
            continue
        for s in static:
            line = line.replace(s, "")
        lines.append(line)
    return "\n".join(lines)


def _ambiguous(found: Found, values: list[tuple[str, Where]]) -> Found:
    found.flag = "FIELD_AMBIGUOUS"
    found.candidates = [v for v, _ in values]
    found.details = {"places": "；".join(f"{w.text()}：“{v[:40]}”" for v, w in values)}
    found.where = values[0][1]
    return found


# ---------------------------------------------------------------------------------------------------------
# Word
# ---------------------------------------------------------------------------------------------------------


class _DocIndex:
    """Cells and paragraphs of a document by the label key of their text."""

    def __init__(self, doc: DocxDocument) -> None:
        self.doc = doc
        self.cells: dict[str, list[tuple[Table, Row, Cell]]] = {}
        self.core_cells: dict[str, list[tuple[Table, Row, Cell]]] = {}
        self.prefixed: dict[str, list[tuple[Table | None, Row | None, Cell | Paragraph, str]]] = {}
        self.paras: dict[str, list[int]] = {}
        self.core_paras: dict[str, list[int]] = {}
        for b, block in enumerate(doc.blocks):
            if isinstance(block, Paragraph):
                key = label_key(block.text)
                if key:
                    self.paras.setdefault(key, []).append(b)
                    self.core_paras.setdefault(core_key(block.text), []).append(b)
                    self._prefix(block.text, None, None, block)
                continue
            for row in block.rows:
                for cell in row.cells:
                    if cell.continued or not cell.text:
                        continue
                    key = label_key(cell.text)
                    self.cells.setdefault(key, []).append((block, row, cell))
                    self.core_cells.setdefault(core_key(cell.text), []).append((block, row, cell))
                    self._prefix(cell.text, block, row, cell)

    def _prefix(self, text: str, table: Table | None, row: Row | None, holder: Cell | Paragraph) -> None:
        """“集团名称：某某集团” typed in one cell or paragraph."""
        first = text.split("\n", 1)[0]
        for sep in ("：", ":"):
            if sep in first:
                label, rest = text.split(sep, 1)
                if rest.strip() and len(label_key(label)) <= 20:
                    self.prefixed.setdefault(label_key(label), []).append((table, row, holder, rest))
                return


def _cell_where(table: Table, row: Row, cell: Cell) -> Where:
    return Where("table", table=table.index, row=row.index, cell=cell.index)


def _collect(found: Found, values: list[tuple[str, Where]], how: str) -> Found:
    """One value from every place the field was seen: flagged when the places disagree."""
    non_empty = [(v, w) for v, w in values if v.strip()]
    distinct = {label_key(v) for v, _ in non_empty}
    if len(distinct) > 1:
        found.how = how
        return _ambiguous(found, non_empty)
    if non_empty:
        found.raw, found.where = non_empty[0]
    elif values:
        found.raw, found.where = "", values[0][1]
    found.how = how if values else NOT_FOUND
    return found


def _by_sdt(doc: DocxDocument, loc: Locator, sdts: list[Sdt], index: _DocIndex, layout: Layout) -> Found:
    found = Found(loc.path, label=loc.label)
    values: list[tuple[str, Where]] = []
    per_cell: dict[tuple[int | None, int | None, int | None, int | None], int] = {}
    for sdt in sdts:
        key = (sdt.table, sdt.row, sdt.cell, sdt.paragraph)
        per_cell[key] = per_cell.get(key, 0) + 1
    for sdt in sdts:
        if sdt.plain and per_cell[(sdt.table, sdt.row, sdt.cell, sdt.paragraph)] > 1:
            # LibreOffice splits a plain-text control into several copies when it re-saves it.
            where = (_cell_where(doc.tables[sdt.table], doc.tables[sdt.table].rows[sdt.row],
                                 doc.tables[sdt.table].rows[sdt.row].cells[sdt.cell]) if sdt.table is not None
                     else Where("paragraph", paragraph=sdt.paragraph))
            found.how, found.where, found.flag = CONTENT_CONTROL, where, "FIELD_CORRUPTED"
            return found
        if sdt.table is not None:
            table = doc.tables[sdt.table]
            row = table.rows[sdt.row]
            cell = row.cells[sdt.cell]
            only_this = all(s.tag == sdt.tag or not s.tag for s in cell.sdts)
            text = _strip_static(cell.text, loc.static) if only_this else sdt.text
            where = _cell_where(table, row, cell)
        else:
            text, where = sdt.text, Where("paragraph", paragraph=sdt.paragraph)
            if loc.kind == "heading_paras":
                section = _section_paras(doc, loc, index, layout)
                if section is not None:
                    text, where = section
        unit = repeated_unit(text.strip())
        if unit and (sdt.plain or doc.application.lower().startswith("libreoffice")):
            found.how, found.where, found.flag = CONTENT_CONTROL, where, "FIELD_CORRUPTED"
            found.candidates = [unit]
            return found
        values.append((text, where))
    return _collect(found, values, CONTENT_CONTROL)


def _occurrences(index: _DocIndex, label: str) -> list[tuple[Table, Row, Cell]]:
    key = label_key(label)
    hits = index.cells.get(key)
    if not hits:
        hits = index.core_cells.get(core_key(label), [])
    return hits


def _right_of(loc: Locator, layout: Layout, index: _DocIndex, right_labels: set[str]) -> Found:
    found = Found(loc.path, label=loc.label)
    values: list[tuple[str, Where]] = []
    for table, row, cell in _occurrences(index, loc.label):
        texts: list[tuple[str, Where]] = []
        for other in row.cells[cell.index + 1:]:
            if other.continued:
                continue
            if label_key(other.text) in right_labels:
                break
            texts.append((_strip_static(other.text, loc.static), _cell_where(table, row, other)))
        filled = [(t, w) for t, w in texts if t.strip()]
        if len(filled) > 1:
            return _ambiguous(found, filled)
        if filled:
            holder = row.cells[filled[0][1].cell]
            if _corrupted(found, filled[0][0], holder.sdts, filled[0][1]):
                found.how = LABEL
                return found
            values.append(filled[0])
        elif texts:
            values.append(texts[0])
    for table, row, holder, rest in index.prefixed.get(label_key(loc.label), []):
        where = _cell_where(table, row, holder) if table is not None else Where("paragraph", paragraph=holder.index)
        values.append((_strip_static(rest, loc.static), where))
    return _collect(found, values, LABEL)


def _below(loc: Locator, index: _DocIndex, below_labels: set[str]) -> Found:
    found = Found(loc.path, label=loc.label)
    values: list[tuple[str, Where]] = []
    for table, row, cell in _occurrences(index, loc.label):
        headers = sum(1 for c in row.cells if label_key(c.text) in below_labels)
        if headers < min(2, len(below_labels)) or row.index + 1 >= len(table.rows):
            continue
        nxt = table.rows[row.index + 1]
        target = nxt.at(cell.grid_col)
        if target is not None:
            if _corrupted(found, target.text, target.sdts, _cell_where(table, nxt, target)):
                found.how = HEADER
                return found
            values.append((target.text, _cell_where(table, nxt, target)))
    return _collect(found, values, HEADER)


def _heading_rows(loc: Locator, layout: Layout, index: _DocIndex) -> Found:
    found = Found(loc.path, label=loc.label)
    values: list[tuple[str, Where]] = []
    key = label_key(loc.label)
    for table, row, cell in _occurrences(index, loc.label):
        parts: list[str] = []
        where = None
        for nxt in table.rows[row.index + 1:]:
            if _opens_section(nxt.text, layout, loc.label):
                break
            texts = [c.text for c in nxt.cells if c.text and not c.continued]
            if where is None:
                first = nxt.cells[0] if nxt.cells else cell
                where = _cell_where(table, nxt, first)
            parts.append("\t".join(texts))
        values.append(("\n".join(parts), where or _cell_where(table, row, cell)))
    # The heading and the text typed into the same cell after it.
    for table_rows in index.prefixed.get(key, []):
        table, row, holder, rest = table_rows
        where = _cell_where(table, row, holder) if table is not None else Where("paragraph", paragraph=holder.index)
        values.append((rest, where))
    for cells in index.cells.values():
        for table, row, cell in cells:
            first, _, rest = cell.text.partition("\n")
            if rest.strip() and label_key(first) == key:
                values.append((rest, _cell_where(table, row, cell)))
    return _collect(found, values, LABEL)


def _opens_section(text: str, layout: Layout, current: str) -> bool:
    """A row or paragraph that starts the next part: a label of the form, or another section's heading on its
    first line followed by text typed after it (“（二）资源共建共享：……”, or a new paragraph in the same cell)."""
    if not text:
        return False
    if label_key(text) in layout.labels or core_key(text) in layout.cores:
        return True
    first = text.split("\n", 1)[0]
    own = core_key(current)
    for head in {first, *(first.split(sep, 1)[0] for sep in ("：", ":") if sep in first)}:
        key = core_key(head)
        if key and key != own and key in layout.section_cores:
            return True
    return False


def _section_paras(doc: DocxDocument, loc: Locator, index: _DocIndex, layout: Layout) -> tuple[str, Where] | None:
    hits = index.paras.get(label_key(loc.label)) or index.core_paras.get(core_key(loc.label))
    if not hits:
        return None
    if len(hits) > 1:
        return None
    start = hits[0]
    parts: list[str] = []
    where = None
    for block in doc.blocks[start + 1:]:
        if isinstance(block, Paragraph):
            if _opens_section(block.text, layout, loc.label):
                break
            if where is None:
                where = Where("paragraph", paragraph=block.index)
            parts.append(block.text)
        else:
            parts.extend("\t".join(c.text for c in r.cells if c.text and not c.continued) for r in block.rows)
    first = doc.blocks[start]
    return "\n".join(parts), where or Where("paragraph", paragraph=first.index)


def _heading_paras(doc: DocxDocument, loc: Locator, layout: Layout, index: _DocIndex) -> Found:
    found = Found(loc.path, label=loc.label)
    hits = index.paras.get(label_key(loc.label)) or index.core_paras.get(core_key(loc.label)) or []
    if len(hits) > 1:
        return _ambiguous(found, [("（标题重复出现）", Where("paragraph", paragraph=doc.blocks[h].index)) for h in hits])
    section = _section_paras(doc, loc, index, layout)
    if section is None:
        for table, row, holder, rest in index.prefixed.get(label_key(loc.label), []):
            where = _cell_where(table, row, holder) if table is not None else Where("paragraph", paragraph=holder.index)
            return _collect(found, [(rest, where)], LABEL)
        return found
    return _collect(found, [section], LABEL)


def _docx_array(doc: DocxDocument, array: str, columns: list[Locator], layout: Layout) -> tuple[
        list[dict[str, Found]], str, Where | None]:
    headers = {label_key(c.label): c for c in columns}
    stop = layout.labels - set(headers) - {"序号"}
    for table in doc.tables:
        for row in table.rows:
            keys = {label_key(c.text): c for c in row.cells if not c.continued}
            if not all(h in keys for h in headers):
                continue
            grid = {headers[h].path: keys[h] for h in headers}
            items: list[dict[str, Found]] = []
            mapped = {c.grid_col for c in grid.values()}
            above: dict[str, Found] = {}  # per column, the cell a vertically merged cell continues
            for nxt in table.rows[row.index + 1:]:
                texts = {label_key(c.text) for c in nxt.cells if c.text}
                # Another part of the form starts: a label outside the table's own columns (values such as
                # 学校 in the type column are not labels here).
                if any(label_key(c.text) in stop for c in nxt.cells if c.grid_col not in mapped):
                    break
                if texts and texts <= set(headers) | {"序号"}:
                    continue  # a repeated header row
                item: dict[str, Found] = {}
                for path, header_cell in grid.items():
                    cell = nxt.at(header_cell.grid_col)
                    key = path.split("[].", 1)[1]
                    if cell is not None and cell.continued and path in above:
                        # One merged cell over several rows shows its text on each of them.
                        origin = above[path]
                        item[key] = Found(path, origin.raw, HEADER, origin.where, label=header_cell.text,
                                          flag=origin.flag, variant=origin.variant, details=origin.details,
                                          candidates=origin.candidates)
                        continue
                    if cell is None or cell.continued:
                        item[key] = Found(path, "", HEADER, None, label=header_cell.text)
                        continue
                    item[key] = Found(path, cell.text, HEADER, _cell_where(table, nxt, cell), label=header_cell.text)
                    _corrupted(item[key], cell.text, cell.sdts, item[key].where)
                    above[path] = item[key]
                if any(str(f.raw).strip() for f in item.values()):
                    items.append(item)
            return items, HEADER, Where("table", table=table.index, row=row.index, cell=0)
    # No header row: rows that still carry the column controls.
    rows: dict[tuple[int, int], dict[str, Found]] = {}
    paths = {c.path for c in columns}
    for sdt in doc.sdts:
        if sdt.tag in paths and sdt.table is not None:
            table = doc.tables[sdt.table]
            row = table.rows[sdt.row]
            cell = row.cells[sdt.cell]
            rows.setdefault((sdt.table, sdt.row), {})[sdt.tag.split("[].", 1)[1]] = Found(
                sdt.tag, cell.text, CONTENT_CONTROL, _cell_where(table, row, cell))
    items = [r for r in rows.values() if any(str(f.raw).strip() for f in r.values())]
    if rows:
        return items, CONTENT_CONTROL, next(iter(rows.values()))[next(iter(next(iter(rows.values()))))].where
    return [], NOT_FOUND, None


def extract_docx(doc: DocxDocument, layout: Layout) -> Extracted:
    index = _DocIndex(doc)
    by_tag: dict[str, list[Sdt]] = {}
    alias_path = dict(layout.aliases)
    for sdt in doc.sdts:
        if sdt.tag:
            by_tag.setdefault(sdt.tag, []).append(sdt)
        elif sdt.alias in alias_path:
            # LibreOffice keeps a plain-text control's alias but drops its tag.
            by_tag.setdefault(alias_path[sdt.alias], []).append(sdt)
    right_labels = {label_key(loc.label) for loc in layout.locators.values() if loc.kind == "cell_right"}
    below_labels = {label_key(loc.label) for loc in layout.locators.values() if loc.kind == "cell_below"}
    scalars: dict[str, Found] = {}
    for path, loc in layout.locators.items():
        if loc.array:
            continue
        sdts = by_tag.get(path)
        if sdts:
            scalars[path] = _by_sdt(doc, loc, sdts, index, layout)
        elif loc.kind == "cell_right":
            scalars[path] = _right_of(loc, layout, index, right_labels)
        elif loc.kind == "cell_below":
            scalars[path] = _below(loc, index, below_labels)
        elif loc.kind == "heading_rows":
            scalars[path] = _heading_rows(loc, layout, index)
        elif loc.kind == "heading_paras":
            scalars[path] = _heading_paras(doc, loc, layout, index)
        else:
            scalars[path] = Found(path, label=loc.label)
    arrays: dict[str, list[dict[str, Found]]] = {}
    array_how: dict[str, tuple[str, Where | None]] = {}
    for array in layout.arrays:
        items, how, where = _docx_array(doc, array, layout.columns(array), layout)
        arrays[array] = items
        array_how[array] = (how, where)
    return Extracted(scalars, arrays, array_how)


# ---------------------------------------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------------------------------------


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _sheet_score(sheet: Sheet, layout: Layout) -> int:
    keys = set()
    for row in sheet.rows[:40]:
        for value in row[:40]:
            if isinstance(value, str) and value:
                keys.add(label_key(value))
    return len(keys & layout.signature)


def choose_sheet(book: XlsxDocument, layout: Layout) -> tuple[Sheet | None, list[str]]:
    """The sheet holding the form: the template's sheet name if it has the form's labels, else the best match."""
    scored = sorted(((s for s in book.sheets)), key=lambda s: -_sheet_score(s, layout))
    if not scored or _sheet_score(scored[0], layout) == 0:
        return None, []
    named = book.sheet(layout.sheet)
    best = named if named is not None and _sheet_score(named, layout) >= _sheet_score(scored[0], layout) else scored[0]
    others = [s.name for s in scored if s is not best and _sheet_score(s, layout) >= max(3, len(layout.signature) // 2)]
    return best, others


def _label_cells(sheet: Sheet, key: str) -> list[tuple[int, int]]:
    out = []
    for r, row in enumerate(sheet.rows):
        for c, value in enumerate(row):
            if isinstance(value, str) and value and label_key(value) == key:
                out.append((r, c))
    return out


def extract_xlsx(book: XlsxDocument, layout: Layout) -> Extracted:
    """The form's sheet; other sheets that are copies of the form are compared with it, never silently ignored."""
    sheet, others = choose_sheet(book, layout)
    extracted = _extract_sheet(book, sheet, layout)
    read = extracted.raw_values() if others else None
    for name in others:
        if _extract_sheet(book, book.sheet(name), layout).raw_values() == read:
            extracted.problems.append(problem("SHEET_EXTRA", other=name, sheet=sheet.name))
        else:
            extracted.problems.append(problem("SHEET_CONFLICT", form=layout.title or "表格", sheet=sheet.name,
                                              other=name))
    return extracted


def _extract_sheet(book: XlsxDocument, sheet: Sheet | None, layout: Layout) -> Extracted:
    scalars: dict[str, Found] = {}
    arrays: dict[str, list[dict[str, Found]]] = {}
    array_how: dict[str, tuple[str, Where | None]] = {}
    if sheet is None:
        for path, loc in layout.locators.items():
            if not loc.array:
                scalars[path] = Found(path, label=loc.label)
        for array in layout.arrays:
            arrays[array], array_how[array] = [], (NOT_FOUND, None)
        return Extracted(scalars, arrays, array_how, "")
    label_keys = {label_key(loc.label) for loc in layout.locators.values() if loc.kind == "sheet_label"}
    for path, loc in layout.locators.items():
        if loc.array:
            continue
        found = Found(path, label=loc.label)
        values: list[tuple[Any, Where]] = []
        for r, c in _label_cells(sheet, label_key(loc.label)):
            texts = []
            col = sheet.merge_end(r, c) + 1
            row = sheet.rows[r]
            while col < len(row):
                value = row[col]
                if isinstance(value, str) and label_key(value) in label_keys:
                    break
                texts.append((value, Where("sheet", sheet=sheet.name, ref=cell_ref(r, col))))
                col = sheet.merge_end(r, col) + 1
            filled = [(v, w) for v, w in texts if not _is_blank(v)]
            if len(filled) > 1:
                found = _ambiguous(found, [(str(v), w) for v, w in filled])
                break
            values.append(filled[0] if filled else (texts[0] if texts else ("", Where("sheet", sheet=sheet.name,
                                                                                     ref=cell_ref(r, c + 1)))))
        if found.flag:
            scalars[path] = found
            continue
        how = LABEL
        named = book.names.get(path)
        if named and named[0] == sheet.name:
            _s, r, c = named
            value = sheet.value(r, c)
            where = Where("sheet", sheet=sheet.name, ref=cell_ref(r, c))
            if not values or all(w.ref != where.ref for _, w in values):
                values.append((value, where))
            how = DEFINED_NAME
        non_empty = [(v, w) for v, w in values if not _is_blank(v)]
        if len({label_key(str(v)) for v, _ in non_empty}) > 1:
            found = _ambiguous(found, [(str(v), w) for v, w in non_empty])
        elif non_empty:
            found.raw, found.where, found.how = non_empty[0][0], non_empty[0][1], how
        elif values:
            found.raw, found.where, found.how = "", values[0][1], how
        scalars[path] = found
    for array in layout.arrays:
        arrays[array], array_how[array] = _xlsx_array(sheet, layout, array)
    return Extracted(scalars, arrays, array_how, sheet.name)


def _hidden(item: dict[str, Found], row: int) -> None:
    """A filled row hidden in Excel: kept by mistake or withdrawn on purpose? Each value goes to a person."""
    for found in item.values():
        if not _is_blank(found.raw) and not found.flag:
            found.flag, found.candidates, found.details = "FIELD_HIDDEN", [found.raw], {"row": row + 1}


def _xlsx_array(sheet: Sheet, layout: Layout, array: str) -> tuple[list[dict[str, Found]], tuple[str, Where | None]]:
    columns = layout.columns(array)
    headers = {label_key(c.label): c for c in columns}
    stop = layout.labels - set(headers)
    for r, row in enumerate(sheet.rows):
        keys = {label_key(v): c for c, v in enumerate(row) if isinstance(v, str) and v}
        if not all(h in keys for h in headers):
            continue
        cols = {headers[h].path: keys[h] for h in headers}
        mapped = set(cols.values())
        items: list[dict[str, Found]] = []
        for rr in range(r + 1, len(sheet.rows)):
            values = sheet.rows[rr]
            texts = {label_key(v) for v in values if isinstance(v, str) and v}
            if any(isinstance(v, str) and label_key(v) in stop for c, v in enumerate(values) if c not in mapped):
                break
            if texts and texts <= set(headers):
                continue
            item = {}
            for path, c in cols.items():
                value = values[c] if c < len(values) else ""
                item[path.split("[].", 1)[1]] = Found(path, value, HEADER, Where("sheet", sheet=sheet.name,
                                                                                 ref=cell_ref(rr, c)),
                                                      label=headers[label_key(sheet.rows[r][c])].label)
            if any(not _is_blank(f.raw) for f in item.values()):
                if rr in sheet.hidden_rows:
                    _hidden(item, rr)
                items.append(item)
        return items, (HEADER, Where("sheet", sheet=sheet.name, ref=cell_ref(r, 0)))
    return [], (NOT_FOUND, None)
