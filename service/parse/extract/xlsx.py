"""Find each field's value in a returned workbook: by its defined name, else by the label cell left of it.

The form's sheet is chosen by its labels (a renamed sheet is still found); another sheet holding a copy of the
form is compared with it and reported, never silently ignored. Cell values keep their type (numbers, dates,
formula errors) for :mod:`service.parse.normalize`; a filled row hidden in Excel goes to a person.
"""

from __future__ import annotations

from typing import Any

from service.forms.layout import Layout, label_key
from service.office.xlsx import Sheet, XlsxDocument, cell_ref
from service.parse.extract.found import DEFINED_NAME, HEADER, LABEL, NOT_FOUND, Extracted, Found, ambiguous, is_blank
from service.problems.location import Where
from service.problems.report import problem


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
            filled = [(v, w) for v, w in texts if not is_blank(v)]
            if len(filled) > 1:
                found = ambiguous(found, [(str(v), w) for v, w in filled])
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
        non_empty = [(v, w) for v, w in values if not is_blank(v)]
        if len({label_key(str(v)) for v, _ in non_empty}) > 1:
            found = ambiguous(found, [(str(v), w) for v, w in non_empty])
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
        if not is_blank(found.raw) and not found.flag:
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
            if any(not is_blank(f.raw) for f in item.values()):
                if rr in sheet.hidden_rows:
                    _hidden(item, rr)
                items.append(item)
        return items, (HEADER, Where("sheet", sheet=sheet.name, ref=cell_ref(r, 0)))
    return [], (NOT_FOUND, None)
