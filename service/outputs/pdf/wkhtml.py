"""wkhtmltopdf through pdfkit: the engine the product's first design named, kept where Debian still ships it (12).

Its two quirks stay here: unpatched Qt lays pages out at 0.7688 of CSS size (a zoom on the body makes pt and mm
true on paper: a 100mm box measures 283.5pt), and its ToUnicode maps name glyphs that Noto CJK shares between an
ideograph and a radical by the radical (页 extracts as ⻚, 示 as ⽰), so a search for 盖章页 would miss the page;
the maps are rewritten after rendering.
"""

from __future__ import annotations

import io
import os
import re
import unicodedata

import pdfkit
from pypdf import PdfReader, PdfWriter

from service.forms.catalog import ROOT
from service.outputs.pdf import Margins, wkhtmltopdf_binary

ZOOM = 1.3008  # 1 / 0.7688
OPTIONS = {"page-size": "A4", "encoding": "UTF-8", "quiet": "", "disable-javascript": "",
           "disable-external-links": "", "disable-smart-shrinking": "", "disable-local-file-access": ""}


def render(style: str, body: str, margins: Margins) -> bytes:
    binary = wkhtmltopdf_binary()
    if not binary:
        raise RuntimeError("没有安装 wkhtmltopdf（JTH_PDF_ENGINE=wkhtmltopdf 需要它；默认引擎 weasyprint 不需要）")
    environ = dict(os.environ)
    environ.setdefault("FONTCONFIG_FILE", str(ROOT / "config" / "fonts.conf"))
    html = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{style}'
            f"body {{ zoom: {ZOOM}; }}</style></head><body>{body}</body></html>")
    options = {**OPTIONS, "margin-top": f"{margins.top}mm", "margin-right": f"{margins.right}mm",
               "margin-bottom": f"{margins.bottom}mm", "margin-left": f"{margins.left}mm"}
    pdf = pdfkit.from_string(html, False, configuration=pdfkit.configuration(wkhtmltopdf=binary, environ=environ),
                             options=options)
    return searchable(pdf)


# Kangxi radicals map back by NFKC; the simplified-form radicals of the supplement block have no decomposition,
# hence this table (Unicode's EquivalentUnifiedIdeograph.txt for the forms Simplified Chinese text uses).
RADICAL_SUPPLEMENT = dict(zip(
    "⺅⺆⺊⺖⺘⺙⺝⺟⺠⺡⺨⺩⺬⺭⺰⺾⻂⻄⻅⻆⻈⻉⻋⻌⻏⻐⻓⻔⻖⻗⻘⻙⻚⻛⻜⻝⻠⻢⻣⻤⻥⻦⻨⻩⻬⻮⻰⻳",
    "亻冂卜忄扌攵月母民氵犭王示礻纟艹衤西见角讠贝车辶阝钅长门阝雨青韦页风飞食饣马骨鬼鱼鸟麦黄齐齿龙龟",
    strict=True))


def _ideograph(char: str) -> str:
    if "\u2f00" <= char <= "\u2fdf":
        return unicodedata.normalize("NFKC", char)
    return RADICAL_SUPPLEMENT.get(char, char)


def _fix_hex(match: re.Match) -> str:
    raw = bytes.fromhex(match.group(1))
    if len(raw) % 2:
        return match.group(0)
    text = raw.decode("utf-16-be", errors="surrogatepass")
    return "<" + "".join(_ideograph(c) for c in text).encode("utf-16-be", errors="surrogatepass").hex().upper() + ">"


def _to_unicode_fixed(cmap: str) -> str:
    """The ToUnicode CMap with radicals replaced by ideographs, in destinations only (never in glyph codes)."""
    out, section = [], ""
    for line in cmap.splitlines():
        words = line.split()
        if words[-1:] in (["beginbfchar"], ["beginbfrange"]):
            section = words[-1][5:]
        elif words[-1:] in (["endbfchar"], ["endbfrange"]):
            section = ""
        elif section == "bfchar" and len(words) == 2:
            line = words[0] + " " + re.sub(r"<([0-9A-Fa-f]+)>", _fix_hex, words[1])
        elif section == "bfrange" and "[" in line:
            head, _, tail = line.partition("[")
            line = head + "[" + re.sub(r"<([0-9A-Fa-f]+)>", _fix_hex, tail)
        elif section == "bfrange" and len(words) == 3 and words[0] == words[1]:
            line = f"{words[0]} {words[1]} " + re.sub(r"<([0-9A-Fa-f]+)>", _fix_hex, words[2])
        out.append(line)
    return "\n".join(out) + "\n"


def searchable(pdf: bytes) -> bytes:
    """The wkhtmltopdf PDF with text that extracts and searches as the ideographs it shows."""
    reader = PdfReader(io.BytesIO(pdf))
    writer = PdfWriter(clone_from=reader)
    seen: set[int] = set()
    for page in writer.pages:
        for ref in page.get("/Resources", {}).get("/Font", {}).values():
            font = ref.get_object()
            stream_ref = font.get("/ToUnicode")
            if stream_ref is None or id(stream_ref.get_object()) in seen:
                continue
            stream = stream_ref.get_object()
            seen.add(id(stream))
            stream.set_data(_to_unicode_fixed(stream.get_data().decode("latin-1")).encode("latin-1"))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
