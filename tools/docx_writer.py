"""A lean WordprocessingML writer for building form templates.

python-docx's default template is US Letter and carries ~800 KB of unused styles, which halves render
speed and looks wrong for a Chinese official attachment; this writer emits only the parts a form needs:
A4 page, 仿宋/黑体/宋体 fonts, bordered tables, and rich-text block content controls (never the
plain-text ``w:text`` kind, which LibreOffice 7.4 duplicates on re-save) tagged and aliased with the
schema field path. Used only by ``tools/build_templates.py``; the service reads the resulting files.
"""

from __future__ import annotations

import zipfile
import zlib
from dataclasses import dataclass
from dataclasses import field as dc_field
from xml.sax.saxutils import escape

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
PAGE_W, PAGE_H = 11906, 16838  # A4 in twips
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_SIDE = 2098, 1984, 1587  # 37 mm / 35 mm / 28 mm, as GB/T 9704
TEXT_W = PAGE_W - 2 * MARGIN_SIDE


def _attr(value: str) -> str:
    return escape(value, {'"': "&quot;"})


def run_props(font: str = "仿宋", size: int = 24, bold: bool = False, color: str | None = None) -> str:
    """Run properties; size in half-points (24 = 小四, 28 = 四号, 32 = 三号, 44 = 二号)."""
    return (
        f'<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="{font}" w:hint="eastAsia"/>'
        + ("<w:b/><w:bCs/>" if bold else "")
        + (f'<w:color w:val="{color}"/>' if color else "")
        + f'<w:sz w:val="{size}"/><w:szCs w:val="{size}"/>'
    )


def run(text: str, *, font: str = "仿宋", size: int = 24, bold: bool = False, color: str | None = None) -> str:
    """One run of text."""
    rpr = run_props(font, size, bold, color)
    return f'<w:r><w:rPr>{rpr}</w:rPr><w:t xml:space="preserve">{escape(text)}</w:t></w:r>'


def para(
    runs: str = "",
    *,
    align: str | None = None,
    before: int = 0,
    after: int = 0,
    indent_first: int = 0,
    line: int | None = None,
    keep_next: bool = False,
) -> str:
    """One paragraph; spacing in twentieths of a point, line in 240ths."""
    ppr = ""
    if keep_next:
        ppr += "<w:keepNext/>"
    spacing = f'w:before="{before}" w:after="{after}"'
    if line:
        spacing += f' w:line="{line}" w:lineRule="auto"'
    ppr += f"<w:spacing {spacing}/>"
    if indent_first:
        ppr += f'<w:ind w:firstLineChars="200" w:firstLine="{indent_first}"/>'
    if align:
        ppr += f'<w:jc w:val="{align}"/>'
    return f"<w:p><w:pPr>{ppr}</w:pPr>{runs}</w:p>"


def field(tag: str, alias: str, expression: str, *, size: int = 24, indent_first: int = 0, align: str | None = None) -> str:
    """A paragraph holding an inline rich-text content control around a docxtpl expression.

    Inline, not block-level: LibreOffice 7.4 turns a block-level control into an input field and writes its
    text several times over on re-save. Line breaks in a value become ``w:br`` inside the one run.
    """
    control = (
        f'<w:sdt><w:sdtPr><w:rPr>{run_props(size=size)}</w:rPr><w:alias w:val="{_attr(alias)}"/>'
        f'<w:tag w:val="{_attr(tag)}"/><w:id w:val="{zlib.crc32(tag.encode()) % 2_000_000_000}"/></w:sdtPr>'
        f"<w:sdtContent>{run(expression, size=size)}</w:sdtContent></w:sdt>"
    )
    # left, not justified: a justified line that ends in w:br is stretched across the cell
    return para(control, indent_first=indent_first, align=align or "left", line=360 if indent_first else None)


@dataclass
class Cell:
    """A table cell: its content XML, span, shading and vertical alignment."""

    content: str
    span: int = 1
    shade: bool = False
    valign: str = "center"


@dataclass
class Table:
    """A bordered table with fixed column widths (twips) and rows of cells."""

    widths: list[int]
    rows: list[tuple[list[Cell], int]] = dc_field(default_factory=list)

    def row(self, cells: list[Cell], min_height: int = 560) -> Table:
        self.rows.append((cells, min_height))
        return self

    def raw_row(self, xml: str) -> Table:
        """A row given as literal text, e.g. a docxtpl ``{%tr for %}`` marker row."""
        self.rows.append(([Cell(xml)], -1))
        return self

    def xml(self) -> str:
        grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in self.widths)
        border = "".join(
            f'<w:{side} w:val="single" w:sz="6" w:space="0" w:color="000000"/>'
            for side in ("top", "left", "bottom", "right", "insideH", "insideV")
        )
        out = [
            f'<w:tbl><w:tblPr><w:tblW w:w="{sum(self.widths)}" w:type="dxa"/><w:jc w:val="center"/>'
            f'<w:tblBorders>{border}</w:tblBorders><w:tblLayout w:type="fixed"/>'
            '<w:tblCellMar><w:left w:w="85" w:type="dxa"/><w:right w:w="85" w:type="dxa"/></w:tblCellMar>'
            f"</w:tblPr><w:tblGrid>{grid}</w:tblGrid>"
        ]
        for cells, height in self.rows:
            if height < 0:
                out.append(f"<w:tr><w:tc><w:tcPr><w:tcW w:w=\"{sum(self.widths)}\" w:type=\"dxa\"/>"
                           f"<w:gridSpan w:val=\"{len(self.widths)}\"/></w:tcPr>"
                           f"<w:p><w:r><w:t>{escape(cells[0].content)}</w:t></w:r></w:p></w:tc></w:tr>")
                continue
            out.append(f'<w:tr><w:trPr><w:cantSplit/><w:trHeight w:val="{height}"/></w:trPr>')
            col = 0
            for cell in cells:
                width = sum(self.widths[col : col + cell.span])
                col += cell.span
                tcpr = f'<w:tcW w:w="{width}" w:type="dxa"/>'
                if cell.span > 1:
                    tcpr += f'<w:gridSpan w:val="{cell.span}"/>'
                if cell.shade:
                    tcpr += '<w:shd w:val="clear" w:color="auto" w:fill="F2F2F2"/>'
                tcpr += f'<w:vAlign w:val="{cell.valign}"/>'
                out.append(f"<w:tc><w:tcPr>{tcpr}</w:tcPr>{cell.content}</w:tc>")
            out.append("</w:tr>")
        out.append("</w:tbl>")
        return "".join(out)


def styles_xml(size: int) -> str:
    """Styles with the body size as the document default.

    LibreOffice 7.4 imports the first paragraph of a block content control as an input field that loses its
    run formatting, so field text must look right with the defaults alone.
    """
    return f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:styles xmlns:w="{W_NS}"><w:docDefaults><w:rPrDefault><w:rPr>
<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="仿宋" w:cs="Times New Roman"/>
<w:kern w:val="2"/><w:sz w:val="{size}"/><w:szCs w:val="{size}"/><w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>
</w:rPr></w:rPrDefault><w:pPrDefault><w:pPr><w:widowControl w:val="0"/><w:jc w:val="both"/></w:pPr></w:pPrDefault></w:docDefaults>
<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/></w:style>
<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/><w:uiPriority w:val="99"/>
<w:semiHidden/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar><w:top w:w="0" w:type="dxa"/>
<w:left w:w="108" w:type="dxa"/><w:bottom w:w="0" w:type="dxa"/><w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>
</w:styles>"""

SETTINGS = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:settings xmlns:w="{W_NS}"><w:defaultTabStop w:val="420"/><w:characterSpacingControl w:val="compressPunctuation"/>
<w:compat><w:compatSetting w:name="compatibilityMode" w:uri="http://schemas.microsoft.com/office/word" w:val="15"/></w:compat>
</w:settings>"""

FOOTER = f"""<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:ftr xmlns:w="{W_NS}"><w:p><w:pPr><w:jc w:val="center"/></w:pPr>
<w:r><w:rPr><w:rFonts w:ascii="宋体" w:hAnsi="宋体" w:eastAsia="宋体"/><w:sz w:val="28"/></w:rPr><w:t xml:space="preserve">— </w:t></w:r>
<w:r><w:rPr><w:sz w:val="28"/></w:rPr><w:fldChar w:fldCharType="begin"/></w:r>
<w:r><w:rPr><w:sz w:val="28"/></w:rPr><w:instrText xml:space="preserve"> PAGE </w:instrText></w:r>
<w:r><w:rPr><w:sz w:val="28"/></w:rPr><w:fldChar w:fldCharType="separate"/></w:r>
<w:r><w:rPr><w:sz w:val="28"/></w:rPr><w:t>1</w:t></w:r>
<w:r><w:rPr><w:sz w:val="28"/></w:rPr><w:fldChar w:fldCharType="end"/></w:r>
<w:r><w:rPr><w:rFonts w:ascii="宋体" w:hAnsi="宋体" w:eastAsia="宋体"/><w:sz w:val="28"/></w:rPr><w:t xml:space="preserve"> —</w:t></w:r>
</w:p></w:ftr>"""

CONTENT_TYPES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>
<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/>
<Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml"/>
<Override PartName="/word/footer1.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.footer+xml"/>
<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>
<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>
<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>
</Types>"""

ROOT_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>
<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/custom-properties" Target="docProps/custom.xml"/>
</Relationships>"""

DOC_RELS = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/settings" Target="settings.xml"/>
<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/footer" Target="footer1.xml"/>
</Relationships>"""

APP = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>jth-forms</Application></Properties>"""

CUSTOM_EMPTY = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes"/>"""


def core_xml(title: str) -> str:
    """Core properties: the form's title, so a file manager shows what the document is."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(title)}</dc:title><dc:creator>jth-forms</dc:creator><dc:language>zh-CN</dc:language>"
        "</cp:coreProperties>"
    )


def write_docx(path: str, body: str, title: str, default_size: int = 24) -> None:
    """Write a complete A4 .docx with the given body XML."""
    sect = (
        f'<w:sectPr><w:footerReference xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" '
        f'w:type="default" r:id="rId3"/><w:pgSz w:w="{PAGE_W}" w:h="{PAGE_H}"/>'
        f'<w:pgMar w:top="{MARGIN_TOP}" w:right="{MARGIN_SIDE}" w:bottom="{MARGIN_BOTTOM}" w:left="{MARGIN_SIDE}" '
        'w:header="851" w:footer="992" w:gutter="0"/><w:docGrid w:linePitch="312"/></w:sectPr>'
    )
    document = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<w:document xmlns:w="{W_NS}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        f"<w:body>{body}{sect}</w:body></w:document>"
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("word/document.xml", document)
        zf.writestr("word/_rels/document.xml.rels", DOC_RELS)
        zf.writestr("word/styles.xml", styles_xml(default_size))
        zf.writestr("word/settings.xml", SETTINGS)
        zf.writestr("word/footer1.xml", FOOTER)
        zf.writestr("docProps/core.xml", core_xml(title))
        zf.writestr("docProps/app.xml", APP)
        zf.writestr("docProps/custom.xml", CUSTOM_EMPTY)
