"""A PDF or a picture read as a :class:`~service.office.pages.PagedDocument`: the one entry point for returns
that come as pages rather than as an editable document.

A PDF's pages are read from their text layer where they have one and by OCR where they are pictures (a file
may mix both); a picture's frames are all OCR. Everything runs under the file's time limit, and the OCR
engine's own time is measured apart from the total. Seals are looked for on every page: on a picture with
the page, on a text page in a small rendering of it (an electronic seal is an image placed on the page).
"""

from __future__ import annotations

import time

from service.office.limits import Limits
from service.office.ocr import Clock, engine_name
from service.office.pages import Box, Page, PagedDocument, Seal, build_document
from service.office.pagesheet import build_sheet
from service.office.pdf import metadata, open_pdf, rasterize, text_pages
from service.office.picture import load_pictures
from service.office.scan import Deadline, read_page
from service.office.seal import find_seals

#: How far apart two edges of a table may be (in PDF points, scaled for pictures) and still be one edge.
EDGE_TOLERANCE = 3.0
#: The resolution a text page is rendered at to look for an electronic seal.
SEAL_DPI = 100


def read_paper(data: bytes, kind: str, limits: Limits) -> PagedDocument:
    """Read a PDF (``kind`` "pdf") or a picture (any other kind) within ``limits``.

    Raises :class:`~service.office.rejected.InputRejected` for what cannot or must not be read.
    """
    started = time.perf_counter()
    deadline = Deadline(float(limits.max_scan_seconds))
    clock = Clock()
    meta: dict[str, str] = {}
    if kind == "pdf":
        pages, meta = _pdf_pages(data, limits, clock, deadline)
        source = "pdf_text" if all(p.image is None for p in pages) else "pdf_scan"
    else:
        pages = []
        for index, picture in enumerate(load_pictures(data, limits)):
            deadline.check()
            pages.append(read_page(picture, index, clock, deadline))
        source = "picture"
    document, places = build_document(pages, source, EDGE_TOLERANCE)
    sheet, sheet_places = build_sheet(pages, EDGE_TOLERANCE)
    return PagedDocument(document, {**places, **sheet_places}, pages, source, sheet, engine_name() if clock.calls
                         else "", round(time.perf_counter() - started, 3), round(clock.seconds, 3), meta)


def _pdf_pages(data: bytes, limits: Limits, clock: Clock, deadline: Deadline) -> tuple[list[Page], dict[str, str]]:
    pdf = open_pdf(data, limits)
    try:
        meta = metadata(pdf)
        pages: list[Page] = []
        for index, page in enumerate(text_pages(data)):
            deadline.check()
            if page is None:
                pages.append(read_page(rasterize(pdf, index, limits.scan_dpi, limits), index, clock, deadline))
            else:
                page.seals = _text_page_seals(pdf, index, limits)
                pages.append(page)
        return pages, meta
    finally:
        pdf.close()


def _text_page_seals(pdf: object, index: int, limits: Limits) -> list[Seal]:
    """Seals on a text page, in PDF points."""
    small = rasterize(pdf, index, SEAL_DPI, limits)
    scale = 72.0 / SEAL_DPI
    return [Seal(Box(s.box.x0 * scale, s.box.y0 * scale, s.box.x1 * scale, s.box.y1 * scale), s.score)
            for s in find_seals(small, SEAL_DPI / 25.4)]
