"""What a file really is, from its content: the one magic-number table, and the gate every upload passes.

Schools upload Word/Excel files produced by every tool imaginable (Office, WPS, LibreOffice, exports from
other systems, phone scans renamed to .doc). Nothing in this service may *parse* those bytes before
:func:`sniff` has looked at them, because the parsers downstream (python-docx, openpyxl, LibreOffice) will
happily decompress a zip bomb, expand XML entities or run for minutes on a hostile file.

* :data:`MAGIC` is the one table of content signatures for everything the platform receives (office files,
  scans and photos, PDF, archives, programs); :func:`media_type` reads it, for attachments, exports and the
  dossier as much as for forms.
* :func:`sniff` identifies an upload and refuses encrypted, macro-enabled and non-office files with a stable
  code and a Chinese message that tells the teacher how to fix it; the file name is only a hint used to pick
  between formats that share a container (Word vs. WPS 文字, Excel vs. WPS 表格). A PDF or a picture (a scan
  or a photo of a printed, sealed form; some units send nothing else) is taken as ``pdf`` or ``picture``: it
  is read by :mod:`service.office.paper`, which bounds its pages and pixels before decoding any.
* :func:`sniff_open` is :func:`sniff` for the one who reads the file next: the package stays open, and
  the parts the reader asked for come with it, inflated once by the checks.
* :func:`open_package` opens a document's zip behind :mod:`service.office.zipguard`, and says precisely what
  a file that is no zip is instead.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from service.office.limits import DEFAULT_LIMITS, Limits, MiB
from service.office.ole import ole_ext
from service.office.packages import package_ext
from service.office.rejected import InputRejected
from service.office.rtf import check_rtf
from service.office.zipguard import check_package, open_zip
from service.problems.catalogue import message

ZIP = "application/zip"
OLE = "application/x-ole-storage"
RTF = "application/rtf"
PDF = "application/pdf"


def _starts(*prefixes: bytes) -> Callable[[bytes], bool]:
    return lambda data: data.startswith(prefixes)


# Brands of an ISO media file (``ftyp`` box) that hold a HEIF/AVIF still image: what phones save photos as.
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif")

#: Every content signature the platform knows, as (media type, test on the first bytes), first match wins.
#: Zip and OLE are containers: :func:`sniff` looks inside them to tell a .docx from an .odt or a .doc from an
#: .xls. The order matters only for PDF, whose header may follow other bytes and so is tried late.
MAGIC: tuple[tuple[str, Callable[[bytes], bool]], ...] = (
    (ZIP, _starts(b"PK\x03\x04", b"PK\x05\x06")),  # OOXML, ODF, OFD and plain zips (an empty zip has no entry)
    (OLE, _starts(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")),  # .doc/.xls/.wps/.et, and OOXML with a password
    (RTF, _starts(b"{\\rtf")),
    ("image/png", _starts(b"\x89PNG\r\n\x1a\n")),
    ("image/jpeg", _starts(b"\xff\xd8\xff")),
    ("image/gif", _starts(b"GIF87a", b"GIF89a")),
    ("image/tiff", _starts(b"II*\x00", b"MM\x00*")),
    ("image/bmp", lambda data: data.startswith(b"BM") and len(data) >= 26 and data[6:10] == bytes(4)),
    ("image/webp", lambda data: data.startswith(b"RIFF") and data[8:12] == b"WEBP"),
    ("image/heif", lambda data: data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS),
    (PDF, lambda data: b"%PDF-" in data[:1024]),  # the header may legally follow some junk within the first KiB
    ("application/vnd.rar", _starts(b"Rar!\x1a\x07")),
    ("application/x-7z-compressed", _starts(b"7z\xbc\xaf\x27\x1c")),
    ("application/gzip", _starts(b"\x1f\x8b")),
    ("application/x-bzip2", _starts(b"BZh")),
    ("application/vnd.microsoft.portable-executable", _starts(b"MZ")),
    ("application/x-executable", _starts(b"\x7fELF")),
)

#: Pictures, as :func:`media_type` names them (scans and photos of a signed and sealed page).
IMAGE_TYPES = frozenset(media for media, _ in MAGIC if media.startswith("image/"))
#: Archives other than zip (a zip may be an office document: only :func:`sniff` can tell).
ARCHIVE_TYPES = frozenset({"application/vnd.rar", "application/x-7z-compressed", "application/gzip",
                           "application/x-bzip2"})
EXECUTABLE_TYPES = frozenset({"application/vnd.microsoft.portable-executable", "application/x-executable"})


def media_type(data: bytes) -> str | None:
    """The media type the content says (``image/png``, ``application/pdf``, ``application/zip`` …), or None.

    Only the signature is read: a zip may be a .docx or a bundle, an OLE file a .doc or an .xls; :func:`sniff`
    tells those apart and checks that the file is safe to open.
    """
    head = bytes(data[:1024])
    return next((media for media, test in MAGIC if test(head)), None)


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


#: Everything the platform takes, by the extension its content calls for.
_TAKEN: dict[str, Sniffed] = {
    ".docx": Sniffed("docx", ".docx", False),
    ".xlsx": Sniffed("xlsx", ".xlsx", False),
    # A form saved as a template (.dotx/.xltx) is the same package with another main content type.
    ".dotx": Sniffed("docx", ".dotx", False),
    ".xltx": Sniffed("xlsx", ".xltx", False),
    ".odt": Sniffed("odt", ".odt", True),
    ".ods": Sniffed("ods", ".ods", True),
    ".doc": Sniffed("ole-doc", ".doc", True),
    ".wps": Sniffed("ole-doc", ".wps", True),
    ".xls": Sniffed("ole-xls", ".xls", True),
    ".et": Sniffed("ole-xls", ".et", True),
    ".rtf": Sniffed("rtf", ".rtf", True),
    ".pdf": Sniffed("pdf", ".pdf", False),
    ".png": Sniffed("picture", ".png", False),
    ".jpg": Sniffed("picture", ".jpg", False),
    ".tif": Sniffed("picture", ".tif", False),
    ".bmp": Sniffed("picture", ".bmp", False),
    ".webp": Sniffed("picture", ".webp", False),
    ".gif": Sniffed("picture", ".gif", False),
}
#: Pictures read (scans and photos), by the extension their media type is stored under.
_PICTURE_EXT = {"image/png": ".png", "image/jpeg": ".jpg", "image/tiff": ".tif", "image/bmp": ".bmp",
                "image/webp": ".webp", "image/gif": ".gif"}


def sniff(data: bytes, filename: str, limits: Limits = DEFAULT_LIMITS) -> Sniffed:
    """Identify an upload by its content and reject anything unsafe.

    The name is consulted only to choose between formats that share one
    container: an OLE Word file named ``.wps`` is WPS 文字 (LibreOffice wants
    the right extension to pick the import filter), an OLE workbook named
    ``.et`` is WPS 表格.  A ``.docx`` renamed ``.xlsx`` still sniffs as docx.

    Raises :class:`InputRejected`; returns :class:`Sniffed` only for files the
    rest of the pipeline can handle (directly or after conversion).
    """
    opened = sniff_open(data, filename, limits)
    opened.close()
    return opened.sniffed


@dataclass
class Opened:
    """An upload as :func:`sniff_open` leaves it for its reader: what it is, and, for a zip, its package open
    and vetted, with the members chosen to be kept already inflated (and checked) once."""

    sniffed: Sniffed
    data: bytes
    package: zipfile.ZipFile | None = None
    inflated: dict[str, bytes] = field(default_factory=dict)

    def close(self) -> None:
        if self.package is not None:
            self.package.close()


def sniff_open(data: bytes, filename: str, limits: Limits = DEFAULT_LIMITS,
               keep: Callable[[str, str], bool] | None = None) -> Opened:
    """:func:`sniff`, keeping a zip package open for its reader, which then neither opens and checks the
    package a second time nor inflates again what the checks inflated anyway: the members for which
    ``keep(kind, name)`` is true (``kind`` as in :class:`Sniffed`) are kept as they came out of the checks.

    Raises what :func:`sniff` raises, after the same checks in the same order. The caller closes the result.
    """
    _check_size(data, limits)
    data = bytes(data)
    if media_type(data) == ZIP:
        zf = open_package(data, limits)
        try:
            ext, inflated = package_ext(zf, limits, (lambda ext, name: keep(_TAKEN[ext].kind, name))
                                        if keep is not None else None)
        except BaseException:
            zf.close()
            raise
        return Opened(_TAKEN[ext], data, zf, inflated)
    return Opened(_sniff_non_zip(data, _name_hint(filename), limits), data)


def open_package(data: bytes, limits: Limits = DEFAULT_LIMITS) -> zipfile.ZipFile:
    """Open a document's zip package after the guard's bounded structural checks.

    Checks run on the central directory only (no decompression beyond a
    4-byte peek per member), so a bomb is rejected in milliseconds; see
    :func:`service.office.zipguard.check_package`. A file that is no zip is
    refused with the precise reason (encrypted, image, …) when there is one.

    This is container-level only: call :func:`sniff` first to classify the
    document (macros, main part, content types).  The caller owns the
    returned ZipFile and must close it.
    """
    _check_size(data, limits)
    data = bytes(data)
    if media_type(data) != ZIP:
        sniffed = _sniff_non_zip(data, "", limits)
        raise InputRejected(
            "OOXML_INVALID",
            message=message("OOXML_INVALID", "not_a_zip"),
            detail={"reason": "not_a_zip", "detected": sniffed.kind},
        )
    stream = io.BytesIO(data)
    zf = open_zip(stream, limits.max_zip_entries)
    try:
        check_package(zf, stream, limits)
    except BaseException:
        zf.close()
        raise
    return zf


def _check_size(data: bytes, limits: Limits) -> None:
    """Cheapest checks first: nothing else runs on an empty or huge upload."""
    size = len(data)
    if size == 0:
        raise InputRejected("FILE_EMPTY", detail={"size": 0})
    if size > limits.max_file_bytes:
        raise InputRejected(
            "FILE_TOO_LARGE",
            message=message("FILE_TOO_LARGE", "measured", size=size, size_mb=size / MiB,
                            limit=limits.max_file_bytes, limit_mb=limits.max_file_bytes / MiB),
            detail={"size": size, "limit": limits.max_file_bytes},
        )


def _name_hint(filename: str | None) -> str:
    """Lower-case extension of the uploaded name (old browsers send full paths)."""
    if not filename:
        return ""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return posixpath.splitext(base)[1].lower()


def _sniff_non_zip(data: bytes, hint: str, limits: Limits) -> Sniffed:
    """Classify everything that is not a zip container."""
    media = media_type(data)
    if media == OLE:
        return _TAKEN[ole_ext(data, hint)]
    if media == RTF:
        check_rtf(data, limits)
        return _TAKEN[".rtf"]
    # Scans and photos arrive renamed to .doc surprisingly often: the content decides, not the name.
    if media == PDF:
        return _TAKEN[".pdf"]
    if media in _PICTURE_EXT:
        return _TAKEN[_PICTURE_EXT[media]]
    if media in IMAGE_TYPES:  # HEIF/AVIF: no decoder here
        raise InputRejected("FILE_IMAGE_OR_PDF", message=message("FILE_IMAGE_OR_PDF", "heif"),
                            detail={"detected": media.split("/")[1]})
    looks_like = _looks_like(data, media)
    variant = _NOT_OFFICE_VARIANTS.get(looks_like)
    raise InputRejected(
        "FILE_NOT_OFFICE",
        message=message("FILE_NOT_OFFICE", variant),
        detail={"detected": looks_like},
    )


#: What a non-office upload looks like → the variant of FILE_NOT_OFFICE that tells its sender what to do
#: (text, plain XML and unknown binaries get the code's own wording).
_NOT_OFFICE_VARIANTS: dict[str, str] = {
    "html": "html",
    "office-xml": "office_xml",
    "archive": "archive",
    "executable": "executable",
}


def _looks_like(data: bytes, media: str | None) -> str:
    """Best guess for a non-office upload, used to pick a more helpful message."""
    if media in EXECUTABLE_TYPES:
        return "executable"
    if media in ARCHIVE_TYPES:
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
    if b"\x00" not in data[:4096]:
        return "text"
    return "binary"
