"""Gatekeeper for untrusted uploads, plus a hardened zip/XML reading layer.

Schools upload Word/Excel files produced by every tool imaginable (Office,
WPS, LibreOffice, exports from other systems, phone scans renamed to .doc).
Nothing in this service may *parse* those bytes before this module has
looked at them, because the parsers downstream (python-docx, openpyxl,
LibreOffice) will happily decompress a zip bomb, expand XML entities or run
for minutes on a hostile file.

The module therefore:

* identifies the real format from the *content* (:func:`sniff`); the file
  name is only a hint used to pick between formats that share a container
  (Word vs. WPS 文字, Excel vs. WPS 表格);
* rejects encrypted, macro-enabled, image/PDF and non-office uploads with a
  stable code and a Chinese message that tells the teacher how to fix it;
* opens OOXML/ODF zips only after bounded checks of the central directory
  (:func:`open_package`) and reads members with byte counting
  (:func:`read_member`), because declared sizes can lie;
* parses XML with a locked-down lxml parser that refuses any DTD
  (:func:`parse_xml`), because OOXML parts never legitimately carry one.

Every rejection is an :class:`InputRejected` whose ``code`` is documented in
:data:`CATALOGUE`, so the API layer and reports can render the same texts.
This module deliberately has no Flask dependency.
"""

from __future__ import annotations

import io
import posixpath
import re
import struct
import threading
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import unquote

import msoffcrypto
import olefile
from lxml import etree

from service.problems.catalogue import CATALOGUE, FIX_RESAVE

__all__ = [
    "CATALOGUE",
    "DEFAULT_LIMITS",
    "XML_PARSER_OPTIONS",
    "InputRejected",
    "Limits",
    "Sniffed",
    "open_package",
    "parse_xml",
    "read_member",
    "sniff",
]

MiB = 1024 * 1024

# ---------------------------------------------------------------------------
# Rejections (codes and texts in service.problems.catalogue)
# ---------------------------------------------------------------------------

class InputRejected(Exception):
    """An upload we refuse to process, with a message the teacher can act on.

    ``code`` is stable (clients and tests switch on it); ``message`` is
    Simplified Chinese and says what is wrong *and* how to fix it; ``detail``
    carries machine-readable diagnostics (sizes, entry names) for logs.  The
    message defaults to the catalogue text so every raise site stays short.
    """

    def __init__(
        self,
        code: str,
        message: str | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        if code not in CATALOGUE:
            # Keeps CATALOGUE the single source of truth for documented codes.
            raise ValueError(f"undocumented rejection code: {code!r}")
        self.code = code
        self.message = message or CATALOGUE[code]["message"]
        self.detail: dict[str, Any] = dict(detail or {})
        # args mirror the constructor so the exception pickles across workers.
        super().__init__(code, self.message, self.detail)

    @property
    def title(self) -> str:
        """Short Chinese title from the catalogue (for list views)."""
        return str(CATALOGUE[self.code]["title"])

    @property
    def http_status(self) -> int:
        """HTTP status the API layer should answer with."""
        return int(CATALOGUE[self.code]["http_status"])

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for API error bodies."""
        return {
            "code": self.code,
            "title": self.title,
            "message": self.message,
            "detail": self.detail,
        }

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


# ---------------------------------------------------------------------------
# Limits and result type
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Resource ceilings for one upload.

    Frozen because an instance is used as a shared default argument; use
    ``dataclasses.replace(DEFAULT_LIMITS, ...)`` to derive tighter limits.

    ``max_ratio`` follows Apache POI's ZipSecureFile (min inflate ratio 0.01)
    and only applies to entries larger than ``ratio_grace_bytes`` because tiny
    XML parts legitimately compress extremely well.  ``max_xml_bytes`` is
    lower than ``max_entry_bytes`` because an lxml tree costs several times
    the size of its source text.
    """

    max_file_bytes: int = 20 * MiB
    max_zip_entries: int = 2000
    max_uncompressed_bytes: int = 200 * MiB
    max_entry_bytes: int = 50 * MiB
    max_ratio: int = 100
    max_xml_bytes: int = 8 * MiB  # the heaviest real 推荐书 has a 260 KB document.xml
    ratio_grace_bytes: int = 1 * MiB
    #: Cells a workbook may span (rows × columns of each sheet's used area, summed): the spreadsheet reader
    #: allocates the whole rectangle, so one cell typed at XFD1048576 would otherwise cost half a terabyte.
    max_sheet_cells: int = 2_000_000
    #: Decompress every member once during sniff() so truncated data and bad
    #: CRCs are reported as ZIP_CORRUPT up front instead of mid-render.
    verify_crc: bool = True

    def __post_init__(self) -> None:
        for name in (
            "max_file_bytes",
            "max_zip_entries",
            "max_uncompressed_bytes",
            "max_entry_bytes",
            "max_ratio",
            "max_xml_bytes",
            "max_sheet_cells",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive")
        if self.ratio_grace_bytes < 0:
            raise ValueError("Limits.ratio_grace_bytes must not be negative")


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Sniffed:
    """What an upload really is.

    ``ext`` is the extension to store/convert the file under (never the
    uploaded name's extension, which may lie); ``needs_conversion`` tells the
    pipeline to run LibreOffice before the OOXML parser sees it.
    """

    kind: str
    ext: str
    needs_conversion: bool


# ---------------------------------------------------------------------------
# Magic numbers
# ---------------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_RTF_MAGIC = b"{\\rtf"

_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_CENTRAL = b"PK\x01\x02"
_ZIP_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"

# Only "stored" and "deflate" are allowed by OPC/ODF; bzip2/lzma would only
# widen the decompressor attack surface.
_ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)

# Archive members that would let a later tool unpack a second layer.
_ARCHIVE_EXTS = (
    ".zip",
    ".jar",
    ".7z",
    ".rar",
    ".gz",
    ".tgz",
    ".bz2",
    ".xz",
    ".tar",
    ".cab",
)
# Office packages that legitimately sit inside "embeddings/" (chart data of a
# Word chart is an embedded .xlsx); they are never opened by our parser.
_EMBEDDED_PACKAGE_EXTS = (
    ".docx",
    ".xlsx",
    ".pptx",
    ".docm",
    ".xlsm",
    ".pptm",
    ".xlsb",
    ".dotx",
    ".xltx",
    ".potx",
    ".ppsx",
    ".sldx",
    ".vsdx",
    ".odt",
    ".ods",
    ".odp",
)
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
_OOXML_MAIN_TYPES: dict[str, Sniffed] = {
    _CT_PREFIX + "wordprocessingml.document.main+xml": Sniffed("docx", ".docx", False),
    _CT_PREFIX + "spreadsheetml.sheet.main+xml": Sniffed("xlsx", ".xlsx", False),
    # A form saved as a template (.dotx/.xltx) is the same package with another main content type.
    _CT_PREFIX + "wordprocessingml.template.main+xml": Sniffed("docx", ".dotx", False),
    _CT_PREFIX + "spreadsheetml.template.main+xml": Sniffed("xlsx", ".xltx", False),
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

_ODF_TYPES: dict[str, Sniffed] = {
    "application/vnd.oasis.opendocument.text": Sniffed("odt", ".odt", True),
    "application/vnd.oasis.opendocument.text-template": Sniffed("odt", ".odt", True),
    "application/vnd.oasis.opendocument.spreadsheet": Sniffed("ods", ".ods", True),
    "application/vnd.oasis.opendocument.spreadsheet-template": Sniffed(
        "ods", ".ods", True
    ),
}

_OLE_ENCRYPTION_STREAMS = {"encryptioninfo", "encryptedpackage", "\x06dataspaces"}
_OLE_MACRO_STORAGES = {"macros", "_vba_project_cur", "vba"}

_CHUNK = 64 * 1024


# ---------------------------------------------------------------------------
# sniff
# ---------------------------------------------------------------------------


def sniff(data: bytes, filename: str, limits: Limits = DEFAULT_LIMITS) -> Sniffed:
    """Identify an upload by its content and reject anything unsafe.

    The name is consulted only to choose between formats that share one
    container: an OLE Word file named ``.wps`` is WPS 文字 (LibreOffice wants
    the right extension to pick the import filter), an OLE workbook named
    ``.et`` is WPS 表格.  A ``.docx`` renamed ``.xlsx`` still sniffs as docx.

    Raises :class:`InputRejected`; returns :class:`Sniffed` only for files the
    rest of the pipeline can handle (directly or after conversion).
    """
    _check_size(data, limits)
    data = bytes(data)
    hint = _name_hint(filename)
    if data.startswith(_ZIP_MAGICS):
        return _sniff_zip(data, limits)
    return _sniff_non_zip(data, hint)


def _check_size(data: bytes, limits: Limits) -> None:
    """Cheapest checks first: nothing else runs on an empty or huge upload."""
    size = len(data)
    if size == 0:
        raise InputRejected("FILE_EMPTY", detail={"size": 0})
    if size > limits.max_file_bytes:
        raise InputRejected(
            "FILE_TOO_LARGE",
            message=(
                f"文件大小为 {size:,} 字节（约 {size / MiB:.2f} MB），超过平台上限 "
                f"{limits.max_file_bytes:,} 字节（{limits.max_file_bytes / MiB:g} MB）。请在 Word/WPS 中压缩图片"
                "（文件 → 压缩图片）、删除无关的图片或附件后重新上传。"
            ),
            detail={"size": size, "limit": limits.max_file_bytes},
        )


def _name_hint(filename: str | None) -> str:
    """Lower-case extension of the uploaded name (old browsers send full paths)."""
    if not filename:
        return ""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return posixpath.splitext(base)[1].lower()


_RTF_BIN = re.compile(rb"\\bin(\d{1,12})")
MAX_RTF_GROUPS = 200_000  # a Word-saved 推荐书 has about 10,000; LibreOffice needs gigabytes for millions
MAX_RTF_CELL_WORDS = 100_000  # \cell and \cellx: a 1,000-row member table has about 6,000


def _check_rtf(data: bytes) -> None:
    """Refuse RTF built to stall or exhaust the converter: binary runs longer than the file, absurd nesting, tables
    of a hundred thousand cells."""
    groups = data.count(b"{")
    if groups > MAX_RTF_GROUPS:
        raise InputRejected("RTF_CORRUPT", detail={"groups": groups, "limit": MAX_RTF_GROUPS})
    cells = data.count(b"\\cell")
    if cells > MAX_RTF_CELL_WORDS:  # tables no form has: LibreOffice spends minutes laying them out
        raise InputRejected("RTF_CORRUPT", detail={"cells": cells, "limit": MAX_RTF_CELL_WORDS})
    for m in _RTF_BIN.finditer(data):
        if int(m.group(1)) > len(data) - m.end():
            raise InputRejected("RTF_CORRUPT", detail={"bin": int(m.group(1)), "at": m.start()})


def _sniff_non_zip(data: bytes, hint: str) -> Sniffed:
    """Classify everything that is not a zip container."""
    if data.startswith(_OLE_MAGIC):
        return _sniff_ole(data, hint)
    if data.startswith(_RTF_MAGIC):
        _check_rtf(data)
        return Sniffed("rtf", ".rtf", True)
    image = _image_kind(data)
    if image is not None:
        raise InputRejected("FILE_IMAGE_OR_PDF", detail={"detected": image})
    looks_like = _looks_like(data)
    raise InputRejected(
        "FILE_NOT_OFFICE",
        message=_NOT_OFFICE_MESSAGES.get(looks_like),
        detail={"detected": looks_like},
    )


def _image_kind(data: bytes) -> str | None:
    """Scans and photos arrive renamed to .doc surprisingly often."""
    head = data[:32]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "tiff"
    if head.startswith(b"BM") and len(data) >= 26 and data[6:10] == b"\x00" * 4:
        return "bmp"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp" and head[8:12] in (
        b"heic",
        b"heix",
        b"hevc",
        b"heim",
        b"heis",
        b"mif1",
        b"msf1",
        b"avif",
    ):
        return "heif"
    # The PDF header may legally follow some junk within the first KiB.
    if b"%PDF-" in data[:1024]:
        return "pdf"
    return None


_NOT_OFFICE_MESSAGES: dict[str, str] = {
    "html": "文件实际是网页（HTML/MHT）格式，只是扩展名为 .doc/.xls"
    "（常见于从其他系统导出的文件）。" + FIX_RESAVE,
    "office-xml": "文件是 Word/Excel 2003 XML 格式，平台无法直接读取。" + FIX_RESAVE,
    "archive": "文件是压缩包（RAR/7z 等），不是 Word/Excel 文档。"
    "请解压后分别上传其中的 Word/Excel 文件。",
    "executable": "文件是程序文件，不是 Word/Excel 文档，已拒绝。"
    "请上传 Word（.docx/.doc）或 Excel（.xlsx/.xls）文件。",
}


def _looks_like(data: bytes) -> str:
    """Best guess for a non-office upload, used to pick a more helpful message."""
    head = data[:4096]
    if head.startswith((b"MZ", b"\x7fELF")):
        return "executable"
    if head.startswith((b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b", b"BZh")):
        return "archive"
    text = data[:65536]
    if text.startswith((b"\xff\xfe", b"\xfe\xff")):  # web pages and Word 2003 XML saved as UTF-16
        text = text[: len(text) // 2 * 2].decode("utf-16", "replace").encode("utf-8", "replace")
    text = text.lstrip(b"\xef\xbb\xbf \t\r\n")
    while text.startswith(b"<!--") and b"-->" in text:  # comments before the real start
        text = text[text.index(b"-->") + 3:].lstrip(b" \t\r\n")
    text = text[:4096].lower()
    if text.startswith(b"mime-version") or b"multipart/related" in text[:512]:
        return "html"
    if b"<html" in text or b"<!doctype html" in text or b"<table" in text:
        return "html"
    if text.startswith(b"<?xml") and b"mso-application" in text:
        return "office-xml"
    if text.startswith(b"<?xml"):
        return "xml"
    if b"\x00" not in head:
        return "text"
    return "binary"


# ---------------------------------------------------------------------------
# OLE (legacy .doc/.xls/.wps/.et, and encrypted OOXML)
# ---------------------------------------------------------------------------


def _sniff_ole(data: bytes, hint: str) -> Sniffed:
    """Classify an OLE2 compound file.

    An encrypted .docx/.xlsx is *not* a zip: Office wraps it in an OLE
    container with ``EncryptionInfo``/``EncryptedPackage`` streams, so that
    check must come before anything else.
    """
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # olefile raises a zoo of types on bad input
        raise InputRejected("OLE_CORRUPT", detail={"error": str(exc)[:200]}) from exc
    try:
        paths = ole.listdir(streams=True, storages=True)
    except Exception as exc:
        raise InputRejected("OLE_CORRUPT", detail={"error": str(exc)[:200]}) from exc
    finally:
        ole.close()

    top = {path[0].lower() for path in paths if path}
    parts = {part.lower() for path in paths for part in path}

    if top & _OLE_ENCRYPTION_STREAMS:
        raise InputRejected("FILE_ENCRYPTED", detail={"container": "ole"})
    if parts & _OLE_MACRO_STORAGES:
        raise InputRejected(
            "FILE_MACRO", detail={"storages": sorted(parts & _OLE_MACRO_STORAGES)}
        )

    if "worddocument" in top:
        result = Sniffed(
            "ole-doc", ".wps" if hint in (".wps", ".wpt") else ".doc", True
        )
    elif "workbook" in top or "book" in top:
        result = Sniffed("ole-xls", ".et" if hint in (".et", ".ett") else ".xls", True)
    elif "powerpoint document" in top or "visiodocument" in top:
        raise InputRejected("FILE_UNSUPPORTED", detail={"detected": "ole-other-office"})
    else:
        raise InputRejected("FILE_NOT_OFFICE", detail={"detected": "ole-unknown"})

    if _legacy_encrypted(data):
        raise InputRejected("FILE_ENCRYPTED", detail={"container": result.kind})
    return result


def _legacy_encrypted(data: bytes) -> bool:
    """Encryption flag of binary .doc/.xls (FIB fEncrypted / BIFF FILEPASS).

    msoffcrypto-tool is a best-effort reader; if it cannot parse the file we
    let LibreOffice have the final word rather than rejecting a file Office
    would open.
    """
    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        return bool(office.is_encrypted())
    except Exception:  # noqa: BLE001 - best-effort probe, see docstring
        return False


# ---------------------------------------------------------------------------
# Zip containers
# ---------------------------------------------------------------------------


def open_package(data: bytes, limits: Limits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """Open a zip package after bounded structural checks.

    Checks run on the central directory only (no decompression beyond a
    4-byte peek per member), so a bomb is rejected in milliseconds:
    entry count (counted *before* zipfile builds its member list), unsafe
    or duplicate names, zip-level encryption, compression method, declared
    per-entry and total sizes, per-entry compression ratio, overlapping
    entries (the "non-recursive" zip bomb), and nested archives.

    This is container-level only: call :func:`sniff` first to classify the
    document (macros, main part, content types).  The caller owns the
    returned ZipFile and must close it.
    """
    _check_size(data, limits)
    data = bytes(data)
    if not data.startswith(_ZIP_MAGICS):
        # Give the precise reason (encrypted, image, ...) when we can.
        sniffed = _sniff_non_zip(data, "")
        raise InputRejected(
            "OOXML_INVALID",
            message="文件不是 .docx/.xlsx 格式（可能是旧版 .doc/.xls、WPS 或 RTF 文件），"
            "需要先转换后才能读取。" + FIX_RESAVE,
            detail={"reason": "not_a_zip", "detected": sniffed.kind},
        )
    _precheck_central_directory(data, limits)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (
        zipfile.BadZipFile,
        NotImplementedError,
        ValueError,
        OSError,
        EOFError,
        struct.error,
    ) as exc:
        raise InputRejected("ZIP_CORRUPT", detail={"error": str(exc)[:200]}) from exc
    try:
        _check_members(zf, data, limits)
    except BaseException:
        zf.close()
        raise
    return zf


def zip_directory(tail: bytes, offset: int = 0) -> tuple[int, int, int]:
    """(declared entries, size of the central directory, where it ends) from a zip's end records.

    ``tail`` is the end of the file (the last 22 + 65535 bytes suffice) and ``offset`` where it starts in the
    file; the end is returned as a file offset. Raises ZIP_CORRUPT when the end records are missing or broken.
    """
    eocd = tail.rfind(_ZIP_EOCD, max(0, len(tail) - (22 + 65535)))
    if eocd < 0 or len(tail) - eocd < 22:
        raise InputRejected(
            "ZIP_CORRUPT", detail={"reason": "no_end_of_central_directory"}
        )
    (_, _, _, _, declared, cd_size, _, _) = struct.unpack_from("<4s4H2LH", tail, eocd)
    cd_end = eocd
    locator = eocd - 20
    if locator >= 0 and tail[locator : locator + 4] == _ZIP64_LOCATOR:
        record = locator - 56
        if record < 0 or tail[record : record + 4] != _ZIP64_EOCD:
            raise InputRejected("ZIP_CORRUPT", detail={"reason": "bad_zip64_record"})
        declared, cd_size = struct.unpack_from("<QQ", tail, record + 32)
        cd_end = record
    return declared, cd_size, offset + cd_end


def _precheck_central_directory(data: bytes, limits: Limits) -> None:
    """Bound the entry count before zipfile materialises a ZipInfo per entry.

    A 20 MiB file can hold ~400k empty central-directory records; letting
    zipfile build all of them costs hundreds of MB.  Counting record
    signatures in the directory region is an upper bound of what zipfile
    will parse (every record must start with the signature).
    """
    declared, cd_size, cd_end = zip_directory(data)
    if declared > limits.max_zip_entries:
        raise _too_many_entries(declared, limits)
    if cd_size > cd_end:
        raise InputRejected("ZIP_CORRUPT", detail={"reason": "bad_central_directory"})
    records = data.count(_ZIP_CENTRAL, cd_end - cd_size, cd_end)
    if records > limits.max_zip_entries:
        raise _too_many_entries(records, limits)


def _too_many_entries(count: int, limits: Limits) -> InputRejected:
    return InputRejected(
        "ZIP_BOMB",
        detail={
            "reason": "too_many_entries",
            "entries": count,
            "limit": limits.max_zip_entries,
        },
    )


def _unsafe_name(name: str) -> bool:
    """True for names that would escape an extraction directory.

    We never extract, but other tools (LibreOffice, unzip in a debugging
    session) might, and no Office writer produces such names.
    """
    if "\x00" in name or not name:
        return True
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in normalised.split("/")


def _is_embedded_package(name: str) -> bool:
    """Office packages under an ``embeddings`` folder (e.g. chart data)."""
    lowered = name.lower()
    folders = lowered.split("/")[:-1]
    return "embeddings" in folders and lowered.endswith(_EMBEDDED_PACKAGE_EXTS)


def _check_members(zf: zipfile.ZipFile, data: bytes, limits: Limits) -> None:
    """Per-entry checks on declared metadata; see :func:`open_package`."""
    infos = zf.infolist()
    if len(infos) > limits.max_zip_entries:
        raise _too_many_entries(len(infos), limits)

    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.orig_filename
        if _unsafe_name(name):
            raise InputRejected("ZIP_UNSAFE_PATH", detail={"entry": name[:200]})
        # OPC part names are case-insensitive; two entries differing only in
        # case are read differently by different parsers.
        key = name.lower()
        if key in seen:
            raise InputRejected(
                "ZIP_UNSAFE_PATH", detail={"entry": name[:200], "reason": "duplicate"}
            )
        seen.add(key)
        _check_entry_metadata(info, limits)
        total += info.file_size
        if total > limits.max_uncompressed_bytes:
            raise InputRejected(
                "ZIP_BOMB",
                detail={
                    "reason": "total_uncompressed",
                    "limit": limits.max_uncompressed_bytes,
                },
            )
        if key.endswith(_ARCHIVE_EXTS):
            raise InputRejected(
                "ZIP_BOMB", detail={"reason": "nested_archive", "entry": name}
            )

    _check_layout(zf, data, infos)

    for info in infos:
        if info.is_dir() or info.file_size < 4 or _is_embedded_package(info.filename):
            continue
        if _peek(zf, info) == _ZIP_LOCAL:
            raise InputRejected(
                "ZIP_BOMB", detail={"reason": "nested_archive", "entry": info.filename}
            )


def _check_entry_metadata(info: zipfile.ZipInfo, limits: Limits) -> None:
    """Checks that need only one central-directory record.

    CPython's ZipExtFile never yields more than the declared ``file_size``
    (surplus data fails the CRC), so declared sizes are a sound upper bound
    for what zipfile will hand us; read_member() still counts as it streams.
    """
    name = info.filename
    if info.flag_bits & 0x1:
        raise InputRejected(
            "FILE_ENCRYPTED", detail={"container": "zip", "entry": name}
        )
    if info.compress_type not in _ALLOWED_COMPRESSION:
        raise InputRejected(
            "ZIP_CORRUPT",
            detail={
                "reason": "compression_method",
                "method": info.compress_type,
                "entry": name,
            },
        )
    if (
        info.compress_type == zipfile.ZIP_STORED
        and info.compress_size != info.file_size
    ):
        raise InputRejected(
            "ZIP_CORRUPT", detail={"reason": "stored_size", "entry": name}
        )
    if info.file_size > limits.max_entry_bytes:
        raise InputRejected(
            "ZIP_BOMB",
            detail={
                "reason": "entry_too_large",
                "entry": name,
                "declared": info.file_size,
                "limit": limits.max_entry_bytes,
            },
        )
    if info.file_size > limits.ratio_grace_bytes and (
        info.file_size > limits.max_ratio * max(info.compress_size, 1)
    ):
        raise InputRejected(
            "ZIP_BOMB",
            detail={
                "reason": "compression_ratio",
                "entry": name,
                "ratio": round(info.file_size / max(info.compress_size, 1)),
                "limit": limits.max_ratio,
            },
        )


def _check_layout(
    zf: zipfile.ZipFile, data: bytes, infos: list[zipfile.ZipInfo]
) -> None:
    """Reject entries whose data overlaps (many headers sharing one stream).

    That is how "non-recursive" zip bombs reach huge sizes while every single
    entry looks ordinary; Python 3.11.7's zipfile does not detect it.
    """
    start_dir = int(getattr(zf, "start_dir", len(data)))
    prev_end = 0
    for info in sorted(infos, key=lambda i: i.header_offset):
        offset = info.header_offset
        if (
            offset < 0
            or offset + 30 > len(data)
            or data[offset : offset + 4] != _ZIP_LOCAL
        ):
            raise InputRejected(
                "ZIP_CORRUPT",
                detail={"reason": "bad_local_header", "entry": info.filename},
            )
        if offset < prev_end:
            raise InputRejected(
                "ZIP_BOMB",
                detail={"reason": "overlapping_entries", "entry": info.filename},
            )
        name_len, extra_len = struct.unpack_from("<HH", data, offset + 26)
        end = offset + 30 + name_len + extra_len + info.compress_size
        if end > start_dir:
            raise InputRejected(
                "ZIP_CORRUPT",
                detail={"reason": "entry_past_directory", "entry": info.filename},
            )
        prev_end = end


# What zipfile raises for a damaged member: bad headers, a broken deflate stream, a short read.
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)


def _corrupt(info: zipfile.ZipInfo, exc: Exception) -> InputRejected:
    return InputRejected("ZIP_CORRUPT", detail={"entry": info.filename, "error": str(exc)[:200]})


def _peek(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """First four bytes of a member; zipfile bounds the inflate work to ~4 KiB."""
    try:
        with zf.open(info) as fh:
            return fh.read(4)
    except _ZIP_READ_ERRORS as exc:
        raise _corrupt(info, exc) from exc


def read_member(
    zf: zipfile.ZipFile, name: str, limits: Limits = DEFAULT_LIMITS
) -> bytes:
    """Read one member, counting bytes as they stream out of the inflater.

    Declared sizes can lie (and a ZipFile may not have come through
    open_package), so the real output is counted against
    ``max_entry_bytes`` and the compression ratio, and reading stops at the
    first chunk past the limit instead of after inflating everything.
    A member that does not exist is an invalid package (OOXML_INVALID).
    """
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise InputRejected(
            "OOXML_INVALID", detail={"reason": "missing_part", "entry": name}
        ) from None
    chunks: list[bytes] = []
    _stream_member(zf, info, limits, chunks.append)
    return b"".join(chunks)


def _stream_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    limits: Limits,
    sink: Any = None,
) -> int:
    """Inflate ``info`` chunk by chunk, enforcing limits; return bytes produced."""
    _check_entry_metadata(info, limits)
    produced = 0
    budget_ratio = limits.max_ratio * max(info.compress_size, 1)
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                produced += len(chunk)
                if produced > limits.max_entry_bytes:
                    raise InputRejected(
                        "ZIP_BOMB",
                        detail={
                            "reason": "entry_too_large",
                            "entry": info.filename,
                            "limit": limits.max_entry_bytes,
                        },
                    )
                if produced > limits.ratio_grace_bytes and produced > budget_ratio:
                    raise InputRejected(
                        "ZIP_BOMB",
                        detail={
                            "reason": "compression_ratio",
                            "entry": info.filename,
                            "limit": limits.max_ratio,
                        },
                    )
                if sink is not None:
                    sink(chunk)
    except RuntimeError as exc:  # zipfile's "password required"
        raise InputRejected(
            "FILE_ENCRYPTED", detail={"container": "zip", "entry": info.filename}
        ) from exc
    except _ZIP_READ_ERRORS as exc:
        raise _corrupt(info, exc) from exc
    return produced


class _DtdScan:
    """Looks for a DTD in an XML part as it streams out of the inflater (markers may straddle two chunks)."""

    MARKERS = tuple(
        marker.encode(encoding)
        for marker in ("<!doctype", "<!entity", "+adw-!doctype", "+adw-!entity")  # the last two: UTF-7
        for encoding in ("ascii", "utf-16-le", "utf-16-be")
    )
    KEEP = max(len(m) for m in MARKERS)

    def __init__(self) -> None:
        self.tail = b""
        self.found = False

    UTF7 = re.compile(rb"""^[^>]{0,100}encoding\s*=\s*["']utf-?7""")  # hides a DTD from every byte scan

    LEADS = (b"<!", b"<\x00!", b"\x00<\x00!", b"+adw-")  # how every marker starts: cheap to rule out

    def __call__(self, chunk: bytes) -> None:
        window = self.tail + chunk.lower()
        if not self.found and (
            (any(lead in window for lead in self.LEADS) and any(m in window for m in self.MARKERS))
            or (not self.tail and self.UTF7.match(window))
        ):
            self.found = True
        self.tail = window[-self.KEEP:]


def has_dtd(data: bytes) -> bool:
    """Whether an XML part declares a DTD or entities (in any encoding that would hide one from a plain scan)."""
    scan = _DtdScan()
    scan(data)
    return scan.found


def _verify_all(zf: zipfile.ZipFile, limits: Limits) -> None:
    """Inflate every member once (discarding output) to catch truncation/CRC errors, and refuse a DTD in any
    XML part: one never belongs in an Office or ODF package, whether or not this platform reads that part
    (LibreOffice may, when it converts or compiles the file)."""
    total = 0
    for info in zf.infolist():
        if info.is_dir():
            continue
        scan = _DtdScan() if info.filename.lower().endswith((".xml", ".rels", ".vml", ".rdf")) else None
        total += _stream_member(zf, info, limits, scan)
        if scan is not None and scan.found:
            raise InputRejected("XML_HOSTILE", detail={"reason": "doctype", "entry": info.filename})
        if total > limits.max_uncompressed_bytes:
            raise InputRejected(
                "ZIP_BOMB",
                detail={
                    "reason": "total_uncompressed",
                    "limit": limits.max_uncompressed_bytes,
                },
            )


def _sniff_zip(data: bytes, limits: Limits) -> Sniffed:
    """Classify a zip upload: OOXML, ODF, OFD, or something else."""
    zf = open_package(data, limits)
    try:
        result = _classify_package(zf, limits)
        if limits.verify_crc:
            _verify_all(zf, limits)
        return result
    finally:
        zf.close()


def _classify_package(zf: zipfile.ZipFile, limits: Limits) -> Sniffed:
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
                _is_embedded_package(lowered) and lowered.endswith(_EMBEDDED_MACRO_EXTS)
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


def _local(tag: Any) -> str:
    """Local name of an element tag (comments/PIs have non-string tags)."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


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
        local = _local(element.tag)
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
            if _local(rel.tag) != "Relationship":
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
) -> Sniffed:
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
            if _local(element.tag) == "encryption-data":
                raise InputRejected("FILE_ENCRYPTED", detail={"container": "odf"})
    return result


# ---------------------------------------------------------------------------
# XML
# ---------------------------------------------------------------------------

#: Options of the hardened parser, exported so iterparse() users can match them.
XML_PARSER_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "dtd_validation": False,
        "attribute_defaults": False,
        "huge_tree": False,
        "recover": False,
        "collect_ids": False,
    }
)

# A DOCTYPE is refused before libxml2 sees it, so neither entity expansion
# nor DTD fetching can start.  Patterns cover UTF-8/ASCII-compatible and
# UTF-16 encodings (the only ones OOXML allows).
_DTD_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)
# UCS-4 and EBCDIC would hide a DOCTYPE from the byte scan above.
_REFUSED_XML_PREFIXES = (
    b"\x00\x00\xfe\xff",
    b"\xff\xfe\x00\x00",
    b"\x00\x00\x00<",
    b"<\x00\x00\x00",
    b"\x4c\x6f\xa7\x94",
)

_thread_state = threading.local()


class _RefuseResolver(etree.Resolver):
    """Resolve every external reference to nothing (defence in depth)."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        return self.resolve_string("", context)


def _xml_parser() -> etree.XMLParser:
    """Per-thread parser: lxml parser objects must not be shared across threads."""
    parser = getattr(_thread_state, "parser", None)
    if parser is None:
        parser = etree.XMLParser(**XML_PARSER_OPTIONS)
        parser.resolvers.add(_RefuseResolver())
        _thread_state.parser = parser
    return parser


def parse_xml(data: bytes, limits: Limits | None = None) -> etree._Element:
    """Parse one XML part with a parser that cannot be turned against us.

    OOXML parts never need a DTD, so any DOCTYPE/ENTITY declaration is
    treated as an attack (billion laughs, XXE to ``file:///etc/passwd``) and
    refused with XML_HOSTILE before parsing; the parse options and a
    post-parse check back that up.  Oversize input is XML_TOO_LARGE,
    anything libxml2 rejects is XML_MALFORMED.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(
            "parse_xml() needs bytes; the encoding comes from the XML itself"
        )
    data = bytes(data)
    limit = (limits or DEFAULT_LIMITS).max_xml_bytes
    if len(data) > limit:
        raise InputRejected("XML_TOO_LARGE", detail={"size": len(data), "limit": limit})
    if data.startswith(_REFUSED_XML_PREFIXES):
        raise InputRejected("XML_MALFORMED", detail={"reason": "unsupported_encoding"})
    for marker in _DTD_MARKERS:
        if marker in data:
            raise InputRejected("XML_HOSTILE", detail={"reason": "doctype"})
    try:
        root = etree.fromstring(data, _xml_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise InputRejected("XML_MALFORMED", detail={"error": str(exc)[:200]}) from exc
    if root is None:
        raise InputRejected("XML_MALFORMED", detail={"reason": "empty"})
    docinfo = root.getroottree().docinfo
    if (
        docinfo.doctype
        or docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
    ):
        raise InputRejected("XML_HOSTILE", detail={"reason": "doctype"})
    return root
