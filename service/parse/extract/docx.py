"""Find each field's text in a returned Word document: by its content control first, else by its labels.

Content controls (tag, else alias) are the anchors the service adds. Office suites drop them (a LibreOffice re-save
drops control tags, a .doc save drops controls, pasting into a new file drops everything), so every field can
also be found the way a person finds it: the label cell beside it, the header above it, the heading before it
(see :mod:`service.forms.layout`). Whatever is found is reported with how and where; when two places disagree, or
a value is visibly corrupted, the field is flagged for a person, never guessed.
"""

from __future__ import annotations

import functools

from service.forms.layout import Layout, Locator, core_key, label_key
from service.office.docx import Cell, DocxDocument, Paragraph, Row, Sdt, Table
from service.parse.extract.found import CONTENT_CONTROL, HEADER, LABEL, NOT_FOUND, Extracted, Found, ambiguous
from service.problems.location import Where


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
    if not any(s.plain for s in sdts):
        return False
    unit = repeated_unit(text.strip())
    if unit:
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


class _DocIndex:
    """Cells and paragraphs of a document by the label key of their text."""

    def __init__(self, doc: DocxDocument) -> None:
        self.doc = doc
        self.tables = doc.tables  # a property that builds its list on each call: once per document here
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

    @functools.cached_property
    def headed(self) -> dict[str, list[tuple[Table, Row, Cell, str]]]:
        """Cells whose first line is followed by more text, by the label key of that first line: a heading with
        its section typed into the same cell. Built once per document, not once per section heading."""
        out: dict[str, list[tuple[Table, Row, Cell, str]]] = {}
        for cells in self.cells.values():
            for table, row, cell in cells:
                first, _, rest = cell.text.partition("\n")
                if rest.strip():
                    out.setdefault(label_key(first), []).append((table, row, cell, rest))
        return out


def _cell_where(table: Table, row: Row, cell: Cell) -> Where:
    return Where("table", table=table.index, row=row.index, cell=cell.index)


def _collect(found: Found, values: list[tuple[str, Where]], how: str) -> Found:
    """One value from every place the field was seen: flagged when the places disagree."""
    non_empty = [(v, w) for v, w in values if v.strip()]
    distinct = {label_key(v) for v, _ in non_empty}
    if len(distinct) > 1:
        found.how = how
        return ambiguous(found, non_empty)
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
            where = (_cell_where(index.tables[sdt.table], index.tables[sdt.table].rows[sdt.row],
                                 index.tables[sdt.table].rows[sdt.row].cells[sdt.cell]) if sdt.table is not None
                     else Where("paragraph", paragraph=sdt.paragraph))
            found.how, found.where, found.flag = CONTENT_CONTROL, where, "FIELD_CORRUPTED"
            return found
        if sdt.table is not None:
            table = index.tables[sdt.table]
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
            return ambiguous(found, filled)
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
    for table, row, cell, rest in index.headed.get(key, []):
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
            if block.rows and any(_opens_section(c.text, layout, loc.label) for c in block.rows[0].cells):
                break  # a table that starts with the form's next label (二、建设目标) is the next part
            parts.extend("\t".join(c.text for c in r.cells if c.text and not c.continued) for r in block.rows)
    first = doc.blocks[start]
    return "\n".join(parts), where or Where("paragraph", paragraph=first.index)


def _heading_paras(doc: DocxDocument, loc: Locator, layout: Layout, index: _DocIndex) -> Found:
    found = Found(loc.path, label=loc.label)
    hits = index.paras.get(label_key(loc.label)) or index.core_paras.get(core_key(loc.label)) or []
    if len(hits) > 1:
        return ambiguous(found, [("（标题重复出现）", Where("paragraph", paragraph=doc.blocks[h].index)) for h in hits])
    section = _section_paras(doc, loc, index, layout)
    if section is None:
        for table, row, holder, rest in index.prefixed.get(label_key(loc.label), []):
            where = _cell_where(table, row, holder) if table is not None else Where("paragraph", paragraph=holder.index)
            return _collect(found, [(rest, where)], LABEL)
        return found
    return _collect(found, [section], LABEL)


def _docx_array(doc: DocxDocument, index: _DocIndex, columns: list[Locator], layout: Layout) -> tuple[
        list[dict[str, Found]], str, Where | None]:
    headers = {label_key(c.label): c for c in columns}
    stop = layout.labels - set(headers) - {"序号"}
    header_row = set(headers) | {"序号"}
    for table in index.tables:
        for row in table.rows:
            keys = {label_key(c.text): c for c in row.cells if not c.continued}
            if not all(h in keys for h in headers):
                continue
            grid = {headers[h].path: keys[h] for h in headers}
            columns_at = [(path, cell, path.split("[].", 1)[1]) for path, cell in grid.items()]
            items: list[dict[str, Found]] = []
            mapped = {c.grid_col for c in grid.values()}
            above: dict[str, Found] = {}  # per column, the cell a vertically merged cell continues
            for nxt in table.rows[row.index + 1:]:
                keyed = [(c, label_key(c.text)) for c in nxt.cells]
                # Another part of the form starts: a label outside the table's own columns (values such as
                # 学校 in the type column are not labels here).
                if any(k in stop for c, k in keyed if c.grid_col not in mapped):
                    break
                texts = {k for c, k in keyed if c.text}
                if texts and texts <= header_row:
                    continue  # a repeated header row
                item: dict[str, Found] = {}
                for path, header_cell, key in columns_at:
                    cell = nxt.at(header_cell.grid_col)
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
            table = index.tables[sdt.table]
            row = table.rows[sdt.row]
            cell = row.cells[sdt.cell]
            rows.setdefault((sdt.table, sdt.row), {})[sdt.tag.split("[].", 1)[1]] = Found(
                sdt.tag, cell.text, CONTENT_CONTROL, _cell_where(table, row, cell))
    items = [r for r in rows.values() if any(str(f.raw).strip() for f in r.values())]
    if rows:
        return items, CONTENT_CONTROL, next(iter(rows.values()))[next(iter(next(iter(rows.values()))))].where
    return [], NOT_FOUND, None


def extract_docx(doc: DocxDocument, layout: Layout) -> Extracted:
    """Every field of the form in ``doc``: by its control where one is left, else by its label, header or heading."""
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
        items, how, where = _docx_array(doc, index, layout.columns(array), layout)
        arrays[array] = items
        array_how[array] = (how, where)
    return Extracted(scalars, arrays, array_how)
