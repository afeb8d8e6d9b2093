"""What a zip package holds: a Word or Excel document (OOXML), an OpenDocument, an OFD, or something refused.

Runs on a zip already opened behind the guard (:func:`service.office.sniff.open_package`): finds the main
part through the package's own relationships and content types (OPC), refuses macros and encryption, and
inflates every member once so damage and DTDs are caught before any reader runs.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Callable, Mapping
from urllib.parse import unquote

from lxml import etree

from service.office.limits import Limits
from service.office.rejected import InputRejected
from service.office.xml import DtdScan, local_name, parse_xml
from service.office.zipguard import check_total, is_embedded_package, read_member, stream_member

_EMBEDDED_MACRO_EXTS = (
    ".docm",
    ".dotm",
    ".xlsm",
    ".xltm",
    ".xlam",
    ".pptm",
    ".potm",
    ".ppsm",
)
_OOXML_MACRO_PARTS = {
    "vbaproject.bin",
    "vbaprojectsignature.bin",
    "vbaprojectsignatureagile.bin",
    "vbaprojectsignaturev3.bin",
    "vbadata.xml",
}

_CT_PREFIX = "application/vnd.openxmlformats-officedocument."
_XLSB_MAIN = "application/vnd.ms-excel.sheet.binary.macroenabled.main"
# Main-part content types of the documents we take, and the extension each calls for.
_OOXML_MAIN_TYPES: dict[str, str] = {
    _CT_PREFIX + "wordprocessingml.document.main+xml": ".docx",
    _CT_PREFIX + "spreadsheetml.sheet.main+xml": ".xlsx",
    # A form saved as a template (.dotx/.xltx) is the same package with another main content type.
    _CT_PREFIX + "wordprocessingml.template.main+xml": ".dotx",
    _CT_PREFIX + "spreadsheetml.template.main+xml": ".xltx",
}
# Content-type fragments of office documents we recognise but do not take.
_UNSUPPORTED_TYPE_MARKERS = (
    "presentationml",
    "ms-powerpoint",
    "ms-visio",
    "ms-package.xps",
    _XLSB_MAIN,
)
_OFFICE_DOCUMENT_REL = "/officedocument"

_ODF_TYPES: dict[str, str] = {
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.text-template": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
    "application/vnd.oasis.opendocument.spreadsheet-template": ".ods",
}

# Parts that are XML and may therefore carry a DTD, whether or not this platform reads them.
_XML_PART_EXTS = (".xml", ".rels", ".vml", ".rdf")


#: Which members' bytes to keep while every member is inflated: (extension the package calls for, member name).
Keep = Callable[[str, str], bool]


def package_ext(zf: zipfile.ZipFile, limits: Limits, keep: Keep | None = None) -> tuple[str, dict[str, bytes]]:
    """The extension a vetted package calls for (``.docx``, ``.dotx``, ``.xlsx``, ``.xltx``, ``.odt``, ``.ods``),
    and the members ``keep`` chose, as inflated and checked.

    Refuses macro-enabled and encrypted packages, OFD, other office documents (PowerPoint, Visio, XPS,
    .xlsb) and zips that are no document; with ``limits.verify_crc`` every member is then inflated once, and
    the bytes of the members ``keep`` chose are kept, so that their reader need not inflate them a second
    time (without ``verify_crc`` nothing is kept: the reader reads them itself).
    """
    ext = _classify(zf, limits)
    kept: dict[str, bytes] = {}
    if limits.verify_crc:
        _verify_all(zf, limits, kept, (lambda name: keep(ext, name)) if keep is not None else None)
    return ext, kept


def _verify_all(zf: zipfile.ZipFile, limits: Limits, kept: dict[str, bytes],
                keep: Callable[[str], bool] | None) -> None:
    """Inflate every member once to catch truncation/CRC errors, and refuse a DTD in any XML part: one never
    belongs in an Office or ODF package, whether or not this platform reads that part (LibreOffice may, when
    it converts or compiles the file). The output is discarded, except for the members ``keep`` chose, whose
    bytes go into ``kept`` once the member has passed (its CRC, its limits and the DTD scan)."""
    total = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        scan = DtdScan() if info.filename.lower().endswith(_XML_PART_EXTS) else None
        if keep is not None and keep(info.filename):
            chunks: list[bytes] = []
            total += stream_member(zf, info, limits, _both(scan, chunks.append))
            if scan is None or not scan.found:
                kept[info.filename] = b"".join(chunks)
        else:
            total += stream_member(zf, info, limits, scan)
        if scan is not None and scan.found:
            raise InputRejected("XML_HOSTILE", detail={"reason": "doctype", "entry": info.filename})
        check_total(total, limits)


def _both(scan: DtdScan | None, collect: Callable[[bytes], object]) -> Callable[[bytes], object]:
    if scan is None:
        return collect

    def sink(chunk: bytes) -> None:
        scan(chunk)
        collect(chunk)

    return sink


def _classify(zf: zipfile.ZipFile, limits: Limits) -> str:
    names = {info.filename.lower(): info for info in zf.infolist()}
    content_types = names.get("[content_types].xml")
    if content_types is None:
        if "mimetype" in names:
            return _classify_odf(zf, names, limits)
        if "ofd.xml" in names:
            # OFD is the Chinese fixed-layout format (e-documents, invoices).
            raise InputRejected(
                "FILE_IMAGE_OR_PDF",
                message="文件是 OFD 版式文件（类似 PDF，常见于电子公文/发票），无法编辑。"
                "请上传可编辑的 Word/Excel 原文件；盖章扫描件请作为附件上传。",
                detail={"detected": "ofd"},
            )
        raise InputRejected("OOXML_INVALID", detail={"reason": "no_content_types"})

    for lowered, info in names.items():
        base = lowered.rsplit("/", 1)[-1]
        if (
            base in _OOXML_MACRO_PARTS
            or lowered.startswith("xl/macrosheets/")
            or (
                is_embedded_package(lowered) and lowered.endswith(_EMBEDDED_MACRO_EXTS)
            )
        ):
            raise InputRejected("FILE_MACRO", detail={"entry": info.filename})

    defaults, overrides = _read_content_types(zf, content_types, limits)
    for ctype in (*defaults.values(), *overrides.values()):
        if (
            "vbaproject" in ctype
            or "macrosheet" in ctype
            or ("macroenabled" in ctype and ctype != _XLSB_MAIN)
        ):
            raise InputRejected(
                "FILE_MACRO",
                message="文件保存成了启用宏的格式（.docm/.xlsm 等，即使其中没有宏代码），出于安全考虑平台不接收。"
                "请在 Word/WPS/Excel 中“另存为”普通的 .docx 或 .xlsx 格式后重新上传。",
                detail={"content_type": ctype},
            )

    main = _main_part(zf, names, limits)
    if main is None:
        raise InputRejected("OOXML_INVALID", detail={"reason": "no_main_part"})
    ext = posixpath.splitext(main)[1].lstrip(".")
    ctype = overrides.get("/" + main) or defaults.get(ext, "")
    if ctype in _OOXML_MAIN_TYPES:
        return _OOXML_MAIN_TYPES[ctype]
    if any(marker in ctype for marker in _UNSUPPORTED_TYPE_MARKERS):
        raise InputRejected("FILE_UNSUPPORTED", detail={"content_type": ctype})
    raise InputRejected(
        "OOXML_INVALID", detail={"reason": "main_content_type", "content_type": ctype}
    )


def _read_xml_member(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits
) -> etree._Element:
    """Small helper: bounded read + hardened parse of a package part."""
    return parse_xml(read_member(zf, info.filename, limits), limits)


def _read_content_types(
    zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: Limits
) -> tuple[dict[str, str], dict[str, str]]:
    """Return (extension -> type, /partname -> type), all lower-cased.

    MIME types and OPC part names are case-insensitive, so everything is
    compared in lower case.
    """
    root = _read_xml_member(zf, info, limits)
    defaults: dict[str, str] = {}
    overrides: dict[str, str] = {}
    for element in root:
        local = local_name(element.tag)
        ctype = (element.get("ContentType") or "").strip().lower()
        if local == "Default":
            defaults[(element.get("Extension") or "").lower()] = ctype
        elif local == "Override":
            part = unquote(element.get("PartName") or "").lower()
            overrides["/" + part.lstrip("/")] = ctype
    return defaults, overrides


def _main_part(
    zf: zipfile.ZipFile, names: Mapping[str, zipfile.ZipInfo], limits: Limits
) -> str | None:
    """Lower-cased name of the package's main part, or None.

    Follows the officeDocument relationship in ``_rels/.rels`` (Word Online
    sometimes writes ``word/document2.xml``); falls back to the conventional
    names only when the package has no such relationship.
    """
    rels = names.get("_rels/.rels")
    if rels is not None:
        root = _read_xml_member(zf, rels, limits)
        for rel in root:
            if local_name(rel.tag) != "Relationship":
                continue
            if not (rel.get("Type") or "").lower().endswith(_OFFICE_DOCUMENT_REL):
                continue
            if (rel.get("TargetMode") or "Internal").lower() == "external":
                continue
            target = unquote(rel.get("Target") or "").replace("\\", "/")
            target = posixpath.normpath(target.lstrip("/")).lower()
            if target.startswith("..") or target not in names:
                raise InputRejected(
                    "OOXML_INVALID",
                    detail={"reason": "main_part_missing", "target": target},
                )
            return target
    for candidate in ("word/document.xml", "xl/workbook.xml", "ppt/presentation.xml"):
        if candidate in names:
            return candidate
    return None


def _classify_odf(
    zf: zipfile.ZipFile, names: Mapping[str, zipfile.ZipInfo], limits: Limits
) -> str:
    """OpenDocument: the ``mimetype`` member names the document type."""
    info = names["mimetype"]
    if info.file_size > 256:
        raise InputRejected("OOXML_INVALID", detail={"reason": "bad_mimetype"})
    mime = (
        read_member(zf, info.filename, limits)
        .decode("ascii", "replace")
        .strip()
        .lower()
    )
    result = _ODF_TYPES.get(mime)
    if result is None:
        if mime.startswith("application/vnd.oasis.opendocument."):
            raise InputRejected("FILE_UNSUPPORTED", detail={"mimetype": mime})
        raise InputRejected(
            "OOXML_INVALID", detail={"reason": "unknown_mimetype", "mimetype": mime}
        )
    for lowered, member in names.items():
        if lowered.startswith(("basic/", "scripts/")):
            raise InputRejected("FILE_MACRO", detail={"entry": member.filename})
    manifest = names.get("meta-inf/manifest.xml")
    if manifest is not None:
        root = _read_xml_member(zf, manifest, limits)
        for element in root.iter():
            if local_name(element.tag) == "encryption-data":
                raise InputRejected("FILE_ENCRYPTED", detail={"container": "odf"})
    return result
