"""PDF returns: opened within bounds, read from their text layer, or rasterized for OCR when they have none.

Bounds come before any page is read. PDFium (C, fast) opens the file and says how many pages it has and how
large each is; thousands of pages or a page metres wide are refused on those numbers alone. pdfminer (under
pdfplumber) inflates every stream it reads in one piece, so each compressed stream of the file is first
inflated in bounded steps and counted (a PDF is a container of zlib streams, a zip bomb's cousin), and images
whose declared size is a decompression bomb are refused before PDFium would decode them.

A page exported by Word, WPS or LibreOffice has its text as text and its table ruling as lines: the cells come
from the ruling (pdfplumber's table finder) and each word goes to the cell it sits in. A page that is one
picture (a scanner's PDF) is rendered at 200 dpi and read like a photo.
"""

from __future__ import annotations

import io
import re
import zlib
from typing import Any

import numpy as np

from service.office.limits import Limits
from service.office.pages import Box, CellRead, Line, Page
from service.office.picture import too_large
from service.office.rejected import InputRejected
from service.problems.catalogue import message

MM_PER_PT = 25.4 / 72
_STREAM = re.compile(rb"(?<!end)stream\r?\n")
_END = re.compile(rb"endstream")
_DICT_KEY = re.compile(rb"/(Width|Height|Subtype)\s*(/?\w+)")
_TABLES = {"vertical_strategy": "lines", "horizontal_strategy": "lines", "snap_tolerance": 3,
           "intersection_tolerance": 3}


def _corrupt(why: str) -> InputRejected:
    return InputRejected("PDF_CORRUPT", detail={"error": why[:200]})


def check_streams(data: bytes, limits: Limits) -> None:
    """Inflate every zlib stream of the file in bounded steps: PDF_UNSAFE when one or all of them together would
    be larger than the limits allow, or when an image declares more pixels than a picture may have."""
    total = 0
    for match in _STREAM.finditer(data):
        start = match.end()
        head = data[max(0, match.start() - 2048):match.start()]
        _check_image(head[head.rfind(b"<<"):] if b"<<" in head else head, limits)
        end = _END.search(data, start)
        raw = data[start:end.start() if end else len(data)]
        if len(raw) < 2 or raw[0] & 0x0F != 8 or ((raw[0] << 8) | raw[1]) % 31:
            continue  # no zlib header: not deflated (an image's JPEG data, or plain text)
        inflater = zlib.decompressobj()
        produced = 0
        try:
            chunk = inflater.decompress(raw, 1 << 20)
            while chunk:
                produced += len(chunk)
                if produced > limits.max_entry_bytes or total + produced > limits.max_uncompressed_bytes:
                    raise InputRejected("PDF_UNSAFE", detail={"inflated": total + produced})
                chunk = inflater.decompress(inflater.unconsumed_tail, 1 << 20)
        except zlib.error:
            continue  # not zlib after all, or damaged: PDFium and pdfminer judge it
        total += produced


def _check_image(dictionary: bytes, limits: Limits) -> None:
    keys = dict(_DICT_KEY.findall(dictionary))
    if keys.get(b"Subtype") != b"/Image":
        return
    try:
        width, height = int(keys.get(b"Width", b"0")), int(keys.get(b"Height", b"0"))
    except ValueError:
        return
    if width * height > limits.max_picture_pixels:
        raise too_large(width * height, limits)


def open_pdf(data: bytes, limits: Limits) -> Any:
    """The document open in PDFium, after its pages were counted and measured and its streams bounded.

    Raises :class:`InputRejected`: FILE_ENCRYPTED (an open password), PDF_CORRUPT, PDF_TOO_MANY_PAGES,
    PDF_PAGE_TOO_LARGE, PDF_UNSAFE, PICTURE_TOO_LARGE. The caller closes the document.
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as exc:
        if "password" in str(exc).lower():
            raise InputRejected("FILE_ENCRYPTED", message=message("FILE_ENCRYPTED", "pdf"),
                                detail={"kind": "pdf"}) from None
        raise _corrupt(str(exc)) from None
    try:
        pages = len(pdf)
        if pages == 0:
            raise _corrupt("no pages")
        if pages > limits.max_pages:
            raise InputRejected("PDF_TOO_MANY_PAGES", message=message(
                "PDF_TOO_MANY_PAGES", "measured", pages=pages, limit=limits.max_pages),
                detail={"pages": pages, "limit": limits.max_pages})
        for i in range(pages):
            width, height = pdf.get_page_size(i)
            if max(width, height) > limits.max_page_points or min(width, height) <= 0:
                raise InputRejected("PDF_PAGE_TOO_LARGE", message=message(
                    "PDF_PAGE_TOO_LARGE", "measured", page=i + 1, width=round(width * MM_PER_PT),
                    height=round(height * MM_PER_PT), limit=round(limits.max_page_points * MM_PER_PT)),
                    detail={"page": i + 1, "width": width, "height": height})
        check_streams(data, limits)
    except BaseException:
        pdf.close()
        raise
    return pdf


def rasterize(pdf: Any, index: int, dpi: int, limits: Limits) -> np.ndarray:
    """Page ``index`` rendered at ``dpi`` as an RGB array (its size was bounded when the file was opened)."""
    page = pdf[index]
    try:
        width, height = page.get_size()
        scale = dpi / 72.0
        if width * height * scale * scale > limits.max_picture_pixels:
            scale = (limits.max_picture_pixels / float(width * height)) ** 0.5
        bitmap = page.render(scale=scale, may_draw_forms=False)
        try:
            return np.array(bitmap.to_pil().convert("RGB"))
        finally:
            bitmap.close()
    finally:
        page.close()


def metadata(pdf: Any) -> dict[str, str]:
    """The document's title, author and producer (a form exported from Word keeps its title here)."""
    try:
        info = pdf.get_metadata_dict(skip_empty=True)
    except Exception:  # PDFium reads what it can of a damaged info dictionary; nothing here is needed
        return {}
    return {k: str(v)[:200] for k, v in info.items() if k in ("Title", "Author", "Creator", "Producer")}


def text_pages(data: bytes) -> list[Page | None]:
    """Each page read from its text layer: tables from the ruling, words in their cells, other text as lines.
    None for a page that is a picture (no text, or one image over most of it: a scan, perhaps with an
    invisible OCR layer that is not trusted)."""
    import pdfplumber

    out: list[Page | None] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as doc:
            for index, page in enumerate(doc.pages):
                out.append(_text_page(page, index))
                page.close()
    except InputRejected:
        raise
    except Exception as exc:  # pdfminer raises many kinds (syntax, EOF, key, type) on a damaged file
        raise _corrupt(f"{type(exc).__name__}: {exc}") from None
    return out


def _text_page(page: Any, index: int) -> Page | None:
    width, height = float(page.width), float(page.height)
    pictured = sum(max(0.0, (min(float(i["x1"]), width) - max(float(i["x0"]), 0.0))) *
                   max(0.0, (min(float(i["bottom"]), height) - max(float(i["top"]), 0.0))) for i in page.images)
    if pictured > 0.5 * width * height or not page.chars:
        return None
    x0, y0 = float(page.bbox[0]), float(page.bbox[1])
    tables: list[list[CellRead]] = []
    for table in page.find_tables(_TABLES):
        cells = [CellRead(Box(c[0] - x0, c[1] - y0, c[2] - x0, c[3] - y0)) for c in table.cells]
        if cells:
            tables.append(cells)
    lines: list[Line] = []
    for word in page.extract_words(x_tolerance=1.5, y_tolerance=2, keep_blank_chars=False):
        box = Box(float(word["x0"]) - x0, float(word["top"]) - y0, float(word["x1"]) - x0,
                  float(word["bottom"]) - y0)
        cx, cy = box.center
        holder = next((c for cells in tables for c in cells if c.box.contains(cx, cy)), None)
        line = Line(word["text"], box)
        if holder is not None:
            holder.lines.append(line)
            holder.inked = True
        else:
            lines.append(line)
    return Page(index, width, height, tables=tables, lines=lines, unit="pt")
