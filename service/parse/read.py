"""Bytes to the document the later stages read: vetted, legacy formats converted, opened by kind.

Everything that knows file formats lives in :mod:`service.office`; this stage only strings it together:
sniff and guard the bytes, convert .doc/.wps/.xls/.et … through the long-lived LibreOffice, read the package.
A PDF or a picture is read page by page (text layer, else OCR) into the same paragraphs and tables a Word file
has, with the place and confidence of each (:mod:`service.office.paper`).
"""

from __future__ import annotations

from typing import Any

from service.office.convert.client import get_converter
from service.office.docx import DocxDocument, read_docx
from service.office.docx import reads_part as docx_reads
from service.office.limits import Limits
from service.office.pages import PagedDocument
from service.office.paper import read_paper
from service.office.rejected import InputRejected
from service.office.sniff import open_package, sniff_open
from service.office.xlsx import XlsxDocument, read_xlsx
from service.office.xlsx import reads_part as xlsx_reads

SPREADSHEET_EXTS = {".xls", ".et", ".ods", ".xltx", ".xlsx", ".ett", ".xlt"}
# The parts each reader reads: the checks that sniffing runs inflate them anyway, and keep them for the reader.
_READS = {"docx": docx_reads, "xlsx": xlsx_reads}


def _keep(kind: str, name: str) -> bool:
    reads = _READS.get(kind)
    return reads is not None and reads(name)


def read_document(data: bytes, filename: str, converter: Any, limits: Limits) -> tuple[
        DocxDocument | XlsxDocument | PagedDocument, str, bool]:
    """The document, the format it came in (its extension) and whether it was converted to get there.

    The package is opened and checked once (by sniffing) and read from there.
    Raises :class:`InputRejected` for what cannot or must not be read, ``ConversionError`` when conversion fails.
    """
    opened = sniff_open(data, filename, limits, _keep)
    try:
        fmt = opened.sniffed.ext.lstrip(".")
        converted = False
        if opened.sniffed.kind in ("pdf", "picture"):
            return read_paper(opened.data, opened.sniffed.kind, limits), fmt, converted
        if opened.sniffed.needs_conversion:
            opened.close()
            target = "xlsx" if opened.sniffed.ext in SPREADSHEET_EXTS else "docx"
            data = (converter or get_converter()).convert(data, opened.sniffed.ext, target)
            opened = sniff_open(data, "converted." + target, limits, _keep)
            converted = True
        zf = opened.package
        if zf is None:  # no zip (a legacy file the converter did not turn into one): refused, saying what it is
            opened.package = zf = open_package(opened.data, limits)
        if opened.sniffed.kind == "docx":
            return read_docx(zf, limits, opened.inflated), fmt, converted
        if opened.sniffed.kind == "xlsx":
            return read_xlsx(opened.data, zf, limits, opened.inflated), fmt, converted
    finally:
        opened.close()
    raise InputRejected("FILE_UNSUPPORTED", detail={"kind": opened.sniffed.kind})
