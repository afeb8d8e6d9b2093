"""A targeted read of a .docx: body paragraphs, tables on a column grid, content controls, properties.

The parser needs only visible text and where it sits, so this reads ``word/document.xml`` with lxml
(through the zip guard and hardened XML parser, :mod:`zipguard` and :mod:`xml`) instead of building python-docx's object model,
which costs about ten times as much per document. Text is what a person sees: tracked deletions,
field instructions, fallback copies of text boxes and moved-from text are left out; line breaks and
tabs are kept.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from service.office.limits import DEFAULT_LIMITS, Limits
from service.office.marks import STRUCK_END, STRUCK_START, UNKNOWN_SYMBOL
from service.office.rejected import InputRejected
from service.office.xml import parse_xml
from service.office.zipguard import read_member

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
W = "{%s}" % W_NS
MC = "{http://schemas.openxmlformats.org/markup-compatibility/2006}"
# Containers whose children are body-level blocks or rows or cells.
_WRAPPERS = {W + "customXml", W + "smartTag", W + "ins", W + "moveTo"}


@dataclass
class Sdt:
    """A content control: its anchor (tag, alias), its text, whether it is the plain-text kind, and its place."""

    tag: str
    alias: str
    text: str
    plain: bool
    table: int | None = None
    row: int | None = None
    cell: int | None = None
    paragraph: int | None = None


@dataclass
class Cell:
    """One ``w:tc``: its text (paragraphs joined by newlines) and its position on the table grid."""

    text: str
    index: int
    grid_col: int
    span: int
    continued: bool  # a vertically merged continuation (its content belongs to the cell above)
    sdts: list[Sdt] = field(default_factory=list)


@dataclass
class Row:
    index: int
    cells: list[Cell]

    def at(self, grid_col: int) -> Cell | None:
        """The cell covering a grid column."""
        for cell in self.cells:
            if cell.grid_col <= grid_col < cell.grid_col + cell.span:
                return cell
        return None

    @property
    def text(self) -> str:
        return "".join(c.text for c in self.cells)


@dataclass
class Table:
    index: int
    rows: list[Row]


@dataclass
class Paragraph:
    index: int
    text: str
    sdts: list[Sdt] = field(default_factory=list)


@dataclass
class DocxDocument:
    """The body in order (paragraphs and top-level tables), every content control, and the document's properties."""

    blocks: list[Paragraph | Table]
    sdts: list[Sdt]
    custom: dict[str, str]
    application: str

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def paragraphs(self) -> list[Paragraph]:
        return [b for b in self.blocks if isinstance(b, Paragraph)]


# Subtrees whose text a person does not see as the document's text: tracked deletions and moves, field
# codes, the fallback copy of a drawing, text boxes (drawn over the page, not in the flow), properties.
# w:rt: the phonetic guide (拼音) over a character, not the text itself. w:tabs: a paragraph's tab stops, whose
# w:tab entries are positions, not the tab characters a run's w:tab is.
_INVISIBLE = (W + "del", W + "moveFrom", W + "instrText", W + "delInstrText", MC + "Fallback", W + "txbxContent",
              W + "fldData", W + "rt", W + "tabs")

# Word's own prompt in an emptied content control (w:showingPlcHdr): not something the person wrote.
_PLACEHOLDER = re.compile(r"^\s*(单击或点击|单击|点击|轻触|Click or tap|Click|Tap)\S*.*(输入|enter|选择|choose)", re.I)
# Symbols inserted from a symbol font (Insert → Symbol; w:sym, or private-use characters in .doc conversions):
# the marks people tick boxes with, by font and code. Any other symbol reads as U+FFFC, which is flagged.
_SYMBOLS = {
    "wingdings": {0xFE: "🗹", 0xFD: "🗵", 0xFC: "✔", 0xFB: "✗", 0xA8: "◻", 0x6F: "□", 0x71: "❑", 0x6E: "■",
                  0x78: "⌧", 0xA1: "○", 0x6C: "●"},
    "wingdings 2": {0x50: "🗸", 0x52: "☑", 0x53: "⮽", 0x54: "☒", 0x4F: "🗴", 0x51: "🗵", 0xA3: "□", 0xA2: "■",
                    0x98: "●", 0x99: "○"},
    "symbol": {0xD6: "√", 0xB4: "×", 0xB7: "•"},
}
_SYMBOL_PUA = re.compile("[\uf020-\uf0ff]")
_SYMBOL_PUA_BYTES = re.compile(rb"\xef(?:\x80[\xa0-\xbf]|\x81[\x80-\xbf]|\x82[\x80-\xbf]|\x83[\x80-\xbf])")
_TEXT_TAGS = (W + "t", W + "tab", W + "br", W + "cr", W + "noBreakHyphen")
_CHAR = {W + "tab": "\t", W + "br": "\n", W + "cr": "\n", W + "noBreakHyphen": "-"}
_CONTAINERS = {W + "tc", W + "p"}


def _symbol(font: str | None, code: int) -> str:
    return _SYMBOLS.get((font or "").strip().lower(), {}).get(code & 0xFF, UNKNOWN_SYMBOL)


def _run_font(t: etree._Element) -> str | None:
    run = t.getparent()
    fonts = run.find(f"{W}rPr/{W}rFonts") if run is not None else None
    if fonts is None:
        return None
    return fonts.get(W + "ascii") or fonts.get(W + "hAnsi") or fonts.get(W + "cs") or fonts.get(W + "eastAsia")


_OFF = {"0", "false", "off"}


def _on(pr: etree._Element, tag: str) -> bool:
    el = pr.find(W + tag)
    return el is not None and (el.get(W + "val") or "true").lower() not in _OFF


def _hidden_and_struck(body: etree._Element) -> None:
    """Hidden text (w:vanish: neither shown nor printed) is not part of what the person wrote; struck-through
    text (w:strike, w:dstrike) is shown crossed out, so it is kept between marks that make the field ask."""
    for rpr in body.iter(W + "rPr"):
        run = rpr.getparent()
        if run is None or run.tag != W + "r":
            continue  # a paragraph mark's properties, or a control's default run properties
        if _on(rpr, "vanish"):
            for t in run.iter(W + "t"):
                t.text = ""
        elif _on(rpr, "strike") or _on(rpr, "dstrike"):
            for t in run.iter(W + "t"):
                if t.text:
                    t.text = STRUCK_START + t.text + STRUCK_END


def _may_hold(data: bytes, marker: bytes) -> bool:
    """Whether the part may contain ``marker``: a byte search is a safe shortcut only in a UTF-8 part (as Word
    writes it); a part in another encoding (UTF-16, GB18030 — OOXML allows them) is always looked at."""
    return not _utf8(data) or marker in data


def _only_what_is_seen(body: etree._Element, data: bytes) -> None:
    """Reduce the body to the text a person sees: hidden subtrees out, Word's placeholder prompts emptied,
    symbol-font marks as the Unicode characters they show."""
    for el in list(body.iter(_INVISIBLE)):
        parent = el.getparent()
        if parent is not None:
            parent.remove(el)
    if _may_hold(data, b"showingPlcHdr"):
        for flag in list(body.iter(W + "showingPlcHdr")):
            sdt = flag.getparent().getparent()
            texts = list(sdt.iter(W + "t"))
            if _PLACEHOLDER.match("".join(t.text or "" for t in texts)):
                for t in texts:
                    t.text = ""
    if _may_hold(data, b"vanish") or _may_hold(data, b"strike"):
        _hidden_and_struck(body)
    for sym in list(body.iter(W + "sym")):
        t = etree.Element(W + "t")
        try:
            code = int(sym.get(W + "char") or "", 16)
        except ValueError:
            code = -1
        t.text = _symbol(sym.get(W + "font"), code) if code >= 0 else UNKNOWN_SYMBOL
        sym.getparent().replace(sym, t)
    if not _utf8(data) or _SYMBOL_PUA_BYTES.search(data):
        for t in body.iter(W + "t"):
            if t.text and _SYMBOL_PUA.search(t.text):
                font = _run_font(t)
                t.text = _SYMBOL_PUA.sub(lambda m, f=font: _symbol(f, ord(m.group())), t.text)


def _para_text(p: etree._Element) -> str:
    # Breaks and tabs carry their character as text (set once per document in read_docx), so lxml's own
    # iteration collects the paragraph's text without a Python step per run.
    return "".join(p.itertext(*_TEXT_TAGS, with_tail=False))


def _block_text(el: etree._Element) -> str:
    """Paragraphs (also of nested tables) one per line."""
    if el.tag == W + "p":
        return _para_text(el)
    return "\n".join(_para_text(p) for p in el.iter(W + "p"))


def _control_text(content: etree._Element) -> str:
    """A control's ``w:sdtContent`` as docx_walk.xsl reads it: its paragraphs one per line when it holds any
    (a block- or cell-level control), else its runs' text run after run. Runs are not lines: Word splits a
    control's text over several runs when it is edited, LibreOffice when it re-saves, and bookmarks or
    proofing marks between paragraphs are not lines either."""
    if next(content.iter(W + "p"), None) is not None:
        return _block_text(content)
    return "".join(content.itertext(*_TEXT_TAGS, with_tail=False))


class _Reader:
    def __init__(self) -> None:
        self.blocks: list[Paragraph | Table] = []
        self.sdts: list[Sdt] = []
        self.paragraph_count = 0
        self.table_count = 0

    def _sdt(self, el: etree._Element, text: str) -> Sdt:
        pr = el.find(W + "sdtPr")
        tag = alias = ""
        plain = False
        if pr is not None:
            t = pr.find(W + "tag")
            a = pr.find(W + "alias")
            tag = (t.get(W + "val") or "") if t is not None else ""
            alias = (a.get(W + "val") or "") if a is not None else ""
            plain = pr.find(W + "text") is not None
        return Sdt(tag=tag, alias=alias, text=text, plain=plain)

    def _inline_sdts(self, el: etree._Element) -> list[Sdt]:
        out = []
        for sdt_el in el.iter(W + "sdt"):
            content = sdt_el.find(W + "sdtContent")
            text = "" if content is None else _control_text(content)
            out.append(self._sdt(sdt_el, text.strip("\n")))
        return out

    # -- structure --------------------------------------------------------------------------------------------

    def body(self, el: etree._Element) -> None:
        for child in el:
            tag = child.tag
            if tag == W + "p":
                sdts = self._inline_sdts(child) if next(child.iter(W + "sdt"), None) is not None else []
                para = Paragraph(self.paragraph_count, _para_text(child), sdts)
                self.paragraph_count += 1
                for s in sdts:
                    s.paragraph = para.index
                self.blocks.append(para)
                self.sdts.extend(sdts)
            elif tag == W + "tbl":
                self.table(child)
            elif tag == W + "sdt":
                content = child.find(W + "sdtContent")
                if content is not None:
                    # A block-level control: its paragraphs are body paragraphs; remember its anchor on them.
                    before = len(self.blocks)
                    self.body(content)
                    text = "\n".join(b.text for b in self.blocks[before:] if isinstance(b, Paragraph))
                    sdt = self._sdt(child, text)
                    first = next((b for b in self.blocks[before:] if isinstance(b, Paragraph)), None)
                    if first is not None:
                        sdt.paragraph = first.index
                        first.sdts.append(sdt)
                    self.sdts.append(sdt)
            elif tag in _WRAPPERS:
                self.body(child)

    def table(self, tbl: etree._Element) -> None:
        table = Table(index=self.table_count, rows=[])
        self.table_count += 1
        self.blocks.append(table)
        for tr in _children(tbl, W + "tr"):
            row = Row(index=len(table.rows), cells=[])
            grid = 0
            tr_pr = tr.find(W + "trPr")
            if tr_pr is not None:
                before = tr_pr.find(W + "gridBefore")
                if before is not None:
                    grid = _int(before.get(W + "val"), 0)
            for tc in _children(tr, W + "tc"):
                span, continued = 1, False
                pr = tc.find(W + "tcPr")
                if pr is not None:
                    gs = pr.find(W + "gridSpan")
                    if gs is not None:
                        span = max(1, _int(gs.get(W + "val"), 1))
                    vm = pr.find(W + "vMerge")
                    if vm is not None and vm.get(W + "val", "continue") == "continue":
                        continued = True
                text = "\n".join(_para_text(p) for p in tc.iter(W + "p")).strip("\n")
                sdts = self._inline_sdts(tc) if next(tc.iter(W + "sdt"), None) is not None else []
                cell = Cell(text=text, index=len(row.cells), grid_col=grid, span=span, continued=continued, sdts=sdts)
                for s in sdts:
                    s.table, s.row, s.cell = table.index, row.index, cell.index
                self.sdts.extend(sdts)
                row.cells.append(cell)
                grid += span
            table.rows.append(row)


def _children(el: etree._Element, tag: str):
    """Direct children with ``tag``, looking through wrappers (customXml, sdt around rows or cells)."""
    for child in el.iterchildren(tag, W + "sdt", *_WRAPPERS):
        ctag = child.tag
        if ctag == tag:
            yield child
        elif ctag == W + "sdt":
            content = child.find(W + "sdtContent")
            if content is not None:
                yield from _children(content, tag)
        else:
            yield from _children(child, tag)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value is not None else default
    except ValueError:
        return default


def _main_part(zf: zipfile.ZipFile) -> str:
    names = set(zf.namelist())
    if "word/document.xml" in names:
        return "word/document.xml"
    # Some tools name the main part differently; the content types say which it is.
    ct = parse_xml(read_member(zf, "[Content_Types].xml"))
    for override in ct:
        if str(override.get("ContentType", "")).endswith(("wordprocessingml.document.main+xml",
                                                          "wordprocessingml.template.main+xml")):
            return str(override.get("PartName", "")).lstrip("/")
    raise InputRejected("OOXML_INVALID", detail={"missing": "word/document.xml"})


#: The parts :func:`read_docx` reads, when they are there (a main part of another name is found and read
#: through the content types).
READ_PARTS = frozenset({"word/document.xml", "docProps/custom.xml", "docProps/app.xml"})


def reads_part(name: str) -> bool:
    """Whether :func:`read_docx` reads this member: its bytes are worth keeping when the checks inflate it."""
    return name in READ_PARTS


def _member(zf: zipfile.ZipFile, name: str, limits: Limits, inflated: Mapping[str, bytes] | None) -> bytes:
    """A member as the package's checks already inflated it (same limits, same counting), else read now."""
    if inflated is not None and name in inflated:
        return inflated[name]
    return read_member(zf, name, limits)


def read_properties(zf: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS,
                    inflated: Mapping[str, bytes] | None = None) -> tuple[dict[str, str], str]:
    """Custom document properties (where the identity stamp lives) and the application that last saved the file.

    ``inflated``: members already read through the guard with these ``limits`` (see :func:`read_docx`)."""
    custom: dict[str, str] = {}
    names = set(zf.namelist())
    if "docProps/custom.xml" in names:
        root = parse_xml(_member(zf, "docProps/custom.xml", limits, inflated), limits)
        for prop in root:
            name = prop.get("name")
            if name and len(prop):
                custom[name] = "".join(prop[0].itertext())
    app = ""
    if "docProps/app.xml" in names:
        root = parse_xml(_member(zf, "docProps/app.xml", limits, inflated), limits)
        for child in root:
            if isinstance(child.tag, str) and child.tag.endswith("}Application"):
                app = child.text or ""
    return custom, app


_WALK = etree.XSLT(etree.parse(str(Path(__file__).with_name("docx_walk.xsl"))),
                   access_control=etree.XSLTAccessControl.DENY_ALL)
# The walker's separators U+E000–U+E005 anywhere in the part, as UTF-8 or as a character reference.
_SEPARATORS = re.compile(rb"\xee\x80[\x80-\x85]")
_SEPARATOR_REFS = re.compile(rb"&#(?:[xX]0*[eE]00[0-5]|0*5734[4-9]);")
_DECLARED_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")


def _utf8(data: bytes) -> bool:
    """Whether an XML part is UTF-8 (or plain ASCII), the only encoding the byte-wise shortcuts here may search."""
    head = data[:200].removeprefix(b"\xef\xbb\xbf")
    if not head.startswith(b"<") or b"\x00" in head[:4]:
        return False
    declared = _DECLARED_ENCODING.match(head)
    return not declared or declared.group(1).lower().replace(b"-", b"").replace(b"_", b"") == b"utf8"


def _may_hold_separators(data: bytes) -> bool:
    """True unless the part is UTF-8 and shows no separator, raw or as a character reference.

    A part in another encoding (UTF-16, GB18030 — libxml2 reads them) is never scanned byte-wise: it takes
    the exact Python walker.
    """
    if not _utf8(data):
        return True
    # Substring tests first (memchr speed); the patterns only where their lead bytes occur at all.
    return bool((b"\xee\x80" in data and _SEPARATORS.search(data))
                or (b"&#" in data and _SEPARATOR_REFS.search(data)))


def _fast_blocks(root: etree._Element) -> tuple[list[Paragraph | Table], list[Sdt]]:
    """The body through the XSLT walker (docx_walk.xsl): libxslt visits the tree, Python only splits a string."""
    out = str(_WALK(root))
    blocks: list[Paragraph | Table] = []
    sdts: list[Sdt] = []
    paragraphs = tables = 0
    opened: list[tuple[Sdt, int]] = []

    def controls(part: str) -> list[Sdt]:
        if not part:
            return []
        found = []
        for chunk in part.split("\ue002")[1:]:
            fields = chunk.split("\ue003", 3)
            if len(fields) < 4:
                fields += ["", "", "", ""][len(fields):]
            tag, alias, plain, text = fields
            found.append(Sdt(tag, alias, text.strip("\n"), plain == "1"))
        return found

    for block in out.split("\ue000")[1:]:
        kind = block[:1]
        if kind == "P":
            _, text, rest = block.split("\ue001", 2)
            para = Paragraph(paragraphs, text, controls(rest))
            for sdt in para.sdts:
                sdt.paragraph = para.index
            paragraphs += 1
            blocks.append(para)
            sdts.extend(para.sdts)
        elif kind == "T":
            table = Table(index=tables, rows=[])
            tables += 1
            for r, row_part in enumerate(block.split("\ue004")[1:]):
                cells_parts = row_part.split("\ue005")
                before = cells_parts[0].split("\ue001", 1)[1]
                grid = _int(before or None, 0)
                row = Row(index=r, cells=[])
                cells = row.cells
                for c, cell_part in enumerate(cells_parts[1:]):
                    _, span, cont, text, rest = cell_part.split("\ue001", 4)
                    width = max(1, _int(span, 1)) if span else 1
                    cell_sdts = controls(rest)
                    cells.append(Cell(text.strip("\n"), c, grid, width, cont == "1", cell_sdts))
                    if cell_sdts:
                        for sdt in cell_sdts:
                            sdt.table, sdt.row, sdt.cell = table.index, r, c
                        sdts.extend(cell_sdts)
                    grid += width
                table.rows.append(row)
            blocks.append(table)
        elif kind == "S":
            tag, alias, plain = (block.split("\ue001", 1)[1].split("\ue003") + ["", "", ""])[:3]
            opened.append((Sdt(tag=tag, alias=alias, text="", plain=plain == "1"), len(blocks)))
        elif kind == "E" and opened:
            sdt, start = opened.pop()
            inner = [b for b in blocks[start:] if isinstance(b, Paragraph)]
            sdt.text = "\n".join(b.text for b in inner)
            if inner:
                sdt.paragraph = inner[0].index
                inner[0].sdts.append(sdt)
            sdts.append(sdt)
    return blocks, sdts


def read_docx(zf: zipfile.ZipFile, limits: Limits = DEFAULT_LIMITS,
              inflated: Mapping[str, bytes] | None = None) -> DocxDocument:
    """Read an opened (already vetted) .docx package.

    ``inflated``: members the package's checks already read through the guard with these ``limits``
    (:func:`service.office.sniff.sniff_open`), so that they are not inflated a second time.
    """
    data = _member(zf, _main_part(zf), limits, inflated)
    root = parse_xml(data, limits)
    body = root.find(W + "body")
    if body is None:
        raise InputRejected("OOXML_INVALID", detail={"missing": "w:body"})
    _only_what_is_seen(body, data)
    if _may_hold_separators(data):
        # The text itself holds the walker's separator characters: read it the slow, exact way.
        for el in body.iter(W + "tab", W + "br", W + "cr", W + "noBreakHyphen"):
            el.text = _CHAR[el.tag]
        reader = _Reader()
        reader.body(body)
        blocks, sdts = reader.blocks, reader.sdts
    else:
        blocks, sdts = _fast_blocks(root)
    custom, app = read_properties(zf, limits, inflated)
    return DocxDocument(blocks=blocks, sdts=sdts, custom=custom, application=app)
