"""A template as the renderer needs it, made from whatever the operator has: anchored, re-saved or plain.

The layout (:mod:`service.forms.layout`) says how each field is anchored; this module makes every field an
anchored one, in memory, once per form, so that what is rendered always carries the service's own anchors:

- a content control whose tag an office suite dropped (a LibreOffice re-save keeps the control and its template
  expression, not the tag) is tagged again from the field its expression names; a template expression outside any
  control is wrapped in one;
- a field known only by its label gets a tagged control holding its expression in the blank place beside, under or
  after the label; choices written as boxes (□是　□否) become that same text with the chosen box ticked;
- a repeated table known by its header row gets the row loop in its first empty row, the other empty rows go (the
  form pads the table with as many empty rows as the template had);
- in a workbook, a field known by its label gets a defined name on its cell (a table column: on its header cell).

Text a suite escaped inside a template expression (``boxes(&apos;legal_person&apos;)``) reads as what it is, since
the document is parsed and written again here.
"""

from __future__ import annotations

import io
import json
import zipfile
import zlib

from lxml import etree

from service.forms.fields import Field
from service.forms.layout import Layout, expression_paths, label_key, template_loops
from service.forms.places import SEQUENCE
from service.office.docx import W
from service.office.xml import parse_xml

DOCUMENT = "word/document.xml"
ITEM = "jth_item"  # the loop variable of a repeated table the renderer builds
RECORD = "jth_record"  # the whole record, for expressions that name a field by a string
_WRAPPERS = {W + "customXml", W + "smartTag", W + "ins", W + "moveTo"}
_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"
_NOT_RUN_PROPS = {W + "ins", W + "del", W + "moveFrom", W + "moveTo", W + "rPrChange"}
MIN_SIZE = 16  # half-points: a value is never written smaller than 8 points


class TemplateError(ValueError):
    """A template that cannot be rendered, said in Chinese for the operator who maintains it."""


# -------------------------------------------------------------------------------------- the body's places


class _Body:
    """Body paragraphs and top-level tables in the order the reader (:mod:`service.office.docx`) counts them."""

    def __init__(self, body: etree._Element) -> None:
        self.paragraphs: list[etree._Element] = []
        self.tables: list[list[tuple[etree._Element, list[etree._Element]]]] = []
        self._blocks(body)

    def _blocks(self, el: etree._Element) -> None:
        for child in el:
            if child.tag == W + "p":
                self.paragraphs.append(child)
            elif child.tag == W + "tbl":
                self.tables.append([(tr, list(_children(tr, W + "tc"))) for tr in _children(child, W + "tr")])
            elif child.tag == W + "sdt":
                content = child.find(W + "sdtContent")
                if content is not None:
                    self._blocks(content)
            elif child.tag in _WRAPPERS:
                self._blocks(child)

    def cell(self, table: int, row: int, cell: int) -> etree._Element:
        return self.tables[table][row][1][cell]


def _children(el: etree._Element, tag: str):
    for child in el.iterchildren(tag, W + "sdt", *_WRAPPERS):
        if child.tag == tag:
            yield child
        elif child.tag == W + "sdt":
            content = child.find(W + "sdtContent")
            if content is not None:
                yield from _children(content, tag)
        else:
            yield from _children(child, tag)


def _grid(tr: etree._Element, cells: list[etree._Element]) -> list[tuple[etree._Element, int, int]]:
    """(cell, first grid column, span) of a row's cells."""
    col = 0
    before = tr.find(f"{W}trPr/{W}gridBefore")
    if before is not None:
        col = int(before.get(W + "val") or 0)
    out = []
    for tc in cells:
        span_el = tc.find(f"{W}tcPr/{W}gridSpan")
        span = max(1, int(span_el.get(W + "val") or 1)) if span_el is not None else 1
        out.append((tc, col, span))
        col += span
    return out


def _at(tr: etree._Element, cells: list[etree._Element], grid_col: int) -> etree._Element | None:
    for tc, col, span in _grid(tr, cells):
        if col <= grid_col < col + span:
            return tc
    return None


# ------------------------------------------------------------------------------------------ controls


def _text_of(el: etree._Element) -> str:
    return "".join(t.text or "" for t in el.iter(W + "t"))


def _run_props(scope: etree._Element) -> etree._Element | None:
    """The look of text written in ``scope``: its first run's properties, else its paragraph mark's."""
    for r in scope.iter(W + "r"):
        rpr = r.find(W + "rPr")
        if rpr is not None:
            return _clean_props(rpr)
    mark = scope.find(f".//{W}pPr/{W}rPr")
    return _clean_props(mark) if mark is not None else None


def _clean_props(rpr: etree._Element) -> etree._Element:
    """Run properties for a value: no revision marks, nothing hidden, and no size too small to read (an empty
    cell imported from a web page carries a 2-point paragraph mark)."""
    out = etree.Element(W + "rPr")
    for child in rpr:
        if child.tag in _NOT_RUN_PROPS or not isinstance(child.tag, str) or child.tag == W + "vanish":
            continue
        if child.tag in (W + "sz", W + "szCs") and _int(child.get(W + "val")) < MIN_SIZE:
            continue
        out.append(_copy(child))
    return out


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _copy(el: etree._Element) -> etree._Element:
    return etree.fromstring(etree.tostring(el))


def _run(text: str, rpr: etree._Element | None) -> etree._Element:
    r = etree.Element(W + "r")
    if rpr is not None:
        r.append(_copy(rpr))
    t = etree.SubElement(r, W + "t")
    t.set(_XML_SPACE, "preserve")
    t.text = text
    return r


def _control(path: str, title: str, expression: str, rpr: etree._Element | None) -> etree._Element:
    """An inline rich-text content control tagged and aliased with the field (never the plain-text kind, which
    LibreOffice writes several times over on a re-save), holding the field's expression."""
    sdt = etree.Element(W + "sdt")
    pr = etree.SubElement(sdt, W + "sdtPr")
    if rpr is not None:
        pr.append(_copy(rpr))
    etree.SubElement(pr, W + "alias").set(W + "val", title)
    etree.SubElement(pr, W + "tag").set(W + "val", path)
    etree.SubElement(pr, W + "id").set(W + "val", str(zlib.crc32(path.encode()) % 2_000_000_000))
    content = etree.SubElement(sdt, W + "sdtContent")
    content.append(_run(expression, rpr))
    return sdt


def _tag(sdt: etree._Element, path: str, title: str) -> None:
    """Give a control the tag (and alias) an office suite dropped."""
    pr = sdt.find(W + "sdtPr")
    if pr is None:
        pr = etree.Element(W + "sdtPr")
        sdt.insert(0, pr)
    for old in pr.findall(W + "tag") + pr.findall(W + "alias") + pr.findall(W + "text"):
        pr.remove(old)
    at = 1 if len(pr) and pr[0].tag == W + "rPr" else 0
    alias = etree.Element(W + "alias")
    alias.set(W + "val", title)
    tag = etree.Element(W + "tag")
    tag.set(W + "val", path)
    pr.insert(at, tag)
    pr.insert(at, alias)


def _empty(p: etree._Element) -> None:
    for child in list(p):
        if child.tag != W + "pPr":
            p.remove(child)


def _fill_cell(tc: etree._Element, control: etree._Element, *, replace_all: bool) -> None:
    """Put a control in a cell's first paragraph, in place of what was written there (nothing, a line ____, or
    the boxes the control will write again); ``replace_all``: the cell's other paragraphs go too."""
    paragraphs = [p for p in tc if p.tag == W + "p"]
    if not paragraphs:
        p = etree.SubElement(tc, W + "p")
        paragraphs = [p]
    first = paragraphs[0]
    _empty(first)
    first.append(control)
    for p in paragraphs[1:]:
        if replace_all:
            tc.remove(p)


# ------------------------------------------------------------------------------------------- expressions


def _name(path: str) -> str:
    return json.dumps(path, ensure_ascii=False)


def expression(f: Field, written: str = "", item: bool = False) -> str:
    """The template expression that writes field ``f``: lines one per line, boxes ticked where the template
    writes its choices as boxes, text otherwise."""
    value = f"{ITEM}[{_name(f.key)}]" if item else f"{RECORD}[{_name(f.path)}]"
    if written:
        return "{{ %s|tick(%s) }}" % (value, _name(written))
    return "{{ %s|%s }}" % (value, "lines" if f.type == "lines" else "paras")


def _marker_row(text: str, width_from: etree._Element) -> etree._Element:
    tr = etree.Element(W + "tr")
    tc = etree.SubElement(tr, W + "tc")
    tc_pr = width_from.find(W + "tcPr")
    if tc_pr is not None:
        tc.append(_copy(tc_pr))
    p = etree.SubElement(tc, W + "p")
    p.append(_run(text, None))
    return tr


# ------------------------------------------------------------------------------------------------ Word


def prepare_docx(template: bytes, lay: Layout, fields: list[Field]) -> bytes:
    """The template package with every field anchored by a tagged control (see the module's docstring)."""
    with zipfile.ZipFile(io.BytesIO(template)) as zf:
        parts = [(info, zf.read(info.filename)) for info in zf.infolist()]
    source = {i.filename: b for i, b in parts}.get(DOCUMENT)
    if source is None:
        raise TemplateError("模板不是有效的 Word 文档（缺少 word/document.xml）；请用 Word、WPS 或 LibreOffice 另存为 .docx")
    root = parse_xml(source)
    body = root.find(W + "body")
    by_path = {f.path: f for f in fields}
    _retag(body, by_path)
    places = _Body(body)
    label = lay.label_anchored
    arrays: dict[str, list[str]] = {}
    for path, anchor in label.items():
        f = by_path[path]
        place = anchor.place
        if f.array:
            arrays.setdefault(f.array, []).append(path)
            continue
        written = place.text if place.options else ""
        if place.kind in ("cell_right", "heading_rows"):
            w = place.where
            tc = places.cell(w.table, w.row, w.cell)
            control = _control(path, f.title, expression(f, written), _run_props(tc))
            _fill_cell(tc, control, replace_all=bool(written))
        elif place.kind == "column":  # a value under its header (学校 / 21)
            tr, cells = places.tables[place.where.table][place.where.row + 1]
            tc = _at(tr, cells, place.grid_col)
            if tc is not None:
                rpr = _run_props(tc)
                control = _control(path, f.title, expression(f), rpr if rpr is not None else _run_props(tr))
                _fill_cell(tc, control, replace_all=False)
        elif place.kind == "heading_paras":
            p = places.paragraphs[place.where.paragraph]
            rpr = _run_props(p)
            _empty(p)
            p.append(_control(path, f.title, expression(f), rpr))
        elif place.kind == "para_right":
            p = places.paragraphs[place.where.paragraph]
            _after_colon(p, _control(path, f.title, expression(f), _run_props(p)))
    for array, paths in arrays.items():
        _loop(places, array, [label[p] for p in paths], by_path)
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in parts:
            out.writestr(info, xml if info.filename == DOCUMENT else data)
    return buf.getvalue()


def _retag(body: etree._Element, by_path: dict[str, Field]) -> None:
    """Tag the controls whose tag was dropped by the field their expression names; wrap a bare expression's run."""
    loops = template_loops(_text_of(body))
    for sdt in list(body.iter(W + "sdt")):
        tag = sdt.find(f"{W}sdtPr/{W}tag")
        if tag is not None and tag.get(W + "val") in by_path:
            continue
        content = sdt.find(W + "sdtContent")
        named = {p for p in expression_paths(_text_of(content) if content is not None else "", loops) if p in by_path}
        if len(named) == 1:
            path = named.pop()
            _tag(sdt, path, by_path[path].title)
    for t in list(body.iter(W + "t")):
        if "{{" not in (t.text or "") or any(a.tag == W + "sdt" for a in t.iterancestors()):
            continue
        named = {p for p in expression_paths(t.text, loops) if p in by_path}
        run = t.getparent()
        if len(named) != 1 or run is None or run.tag != W + "r" or "}}" not in t.text:
            continue
        path = named.pop()
        parent = run.getparent()
        control = _control(path, by_path[path].title, "", None)
        content = control.find(W + "sdtContent")
        content.remove(content[0])
        parent.replace(run, control)
        content.append(run)


def _after_colon(p: etree._Element, control: etree._Element) -> None:
    """“填表日期：______”: keep the label up to its colon, put the control where the blank was."""
    seen = False
    for t in list(p.iter(W + "t", W + "tab")):
        if seen:
            if t.tag == W + "tab":
                t.getparent().remove(t)
            else:
                t.text = ""
            continue
        text = t.text or "" if t.tag == W + "t" else ""
        cut = max(text.rfind("："), text.rfind(":"))
        if cut >= 0:
            t.text = text[:cut + 1]
            seen = True
    p.append(control)


def _loop(places: _Body, array: str, anchors: list, by_path: dict[str, Field]) -> None:
    """The repeated table's first empty row becomes the row written once per item; the other empty rows go."""
    head = anchors[0].place
    rows = places.tables[head.where.table]
    header_tr, header_cells = rows[head.where.row]
    proto_tr, proto_cells = rows[head.where.row + 1]
    sequence = next((col for tc, col, _span in _grid(header_tr, header_cells) if label_key(_text_of(tc)) == SEQUENCE),
                    None)
    mapped: set[int] = set()
    for anchor in anchors:
        f = by_path[anchor.path]
        tc = _at(proto_tr, proto_cells, anchor.place.grid_col)
        if tc is None:
            continue
        mapped.add(id(tc))
        rpr = _run_props(tc)
        _fill_cell(tc, _control(f.path, f.title, expression(f, item=True), rpr if rpr is not None else
                                _run_props(header_tr)), replace_all=False)
    for tc, col, span in _grid(proto_tr, proto_cells):
        if id(tc) in mapped:
            continue
        paragraphs = [p for p in tc if p.tag == W + "p"]
        rpr = _run_props(tc)
        for p in paragraphs:
            _empty(p)
        if sequence is not None and col <= sequence < col + span and paragraphs:
            paragraphs[0].append(_run("{{ loop.index }}", rpr))
    proto_tr.addprevious(_marker_row("{%%tr for %s in %s[%s] %%}" % (ITEM, RECORD, _name(array)), proto_cells[0]))
    proto_tr.addnext(_marker_row("{%tr endfor %}", proto_cells[0]))
    for tr, _cells in rows[head.where.row + 2: head.where.row + 1 + head.rows]:
        parent = tr.getparent()
        if parent is not None:
            parent.remove(tr)


# ----------------------------------------------------------------------------------------------- Excel


def prepare_xlsx(template: bytes, lay: Layout, fields: list[Field]) -> bytes:
    """The workbook with a defined name on the cell of every field known by its label (a column: its header)."""
    label = lay.label_anchored
    if not label:
        return template
    from openpyxl import load_workbook
    from openpyxl.workbook.defined_name import DefinedName

    wb = load_workbook(io.BytesIO(template))
    by_path = {f.path: f for f in fields}
    for path, anchor in label.items():
        f = by_path[path]
        name = f"{f.array}.{f.key}" if f.array else path
        where = anchor.place.where
        ws = wb[where.sheet]
        cell = ws[where.ref]
        sheet = where.sheet.replace("'", "''")
        if name in wb.defined_names:
            del wb.defined_names[name]
        wb.defined_names[name] = DefinedName(name, attr_text=f"'{sheet}'!${cell.column_letter}${cell.row}")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def written_choices(lay: Layout) -> dict[str, str]:
    """Fields whose template writes their choices as boxes: path → the boxes as written (□是　□否)."""
    return {p: a.place.text for p, a in lay.label_anchored.items() if a.place is not None and a.place.options}
