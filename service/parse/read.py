"""Bytes to the document the later stages read: vetted, legacy formats converted, opened by kind.

Everything that knows file formats lives in :mod:`service.office`; this stage only strings it together:
sniff and guard the bytes, convert .doc/.wps/.xls/.et … through the long-lived LibreOffice, read the package.
"""

from __future__ import annotations

from typing import Any

from service.office.convert.client import get_converter
from service.office.docx import DocxDocument, read_docx
from service.office.limits import Limits
from service.office.rejected import InputRejected
from service.office.sniff import open_package, sniff
from service.office.xlsx import XlsxDocument, read_xlsx

SPREADSHEET_EXTS = {".xls", ".et", ".ods", ".xltx", ".xlsx", ".ett", ".xlt"}


def read_document(data: bytes, filename: str, converter: Any, limits: Limits) -> tuple[
        DocxDocument | XlsxDocument, str, bool]:
    """The document, the format it came in (its extension) and whether it was converted to get there.

    Raises :class:`InputRejected` for what cannot or must not be read, ``ConversionError`` when conversion fails.
    """
    sniffed = sniff(data, filename, limits)
    fmt = sniffed.ext.lstrip(".")
    converted = False
    if sniffed.needs_conversion:
        target = "xlsx" if sniffed.ext in SPREADSHEET_EXTS else "docx"
        data = (converter or get_converter()).convert(data, sniffed.ext, target)
        sniffed = sniff(data, "converted." + target, limits)
        converted = True
    zf = open_package(data, limits)
    try:
        if sniffed.kind == "docx":
            return read_docx(zf, limits), fmt, converted
        if sniffed.kind == "xlsx":
            return read_xlsx(data, zf, limits), fmt, converted
    finally:
        zf.close()
    raise InputRejected("FILE_UNSUPPORTED", detail={"kind": sniffed.kind})
