"""The one zip guard: every zip the platform reads (a document's package, or a batch of uploads) opens here.

Python's ``zipfile`` checks CRCs and declared sizes, nothing more. So before it builds an object per entry,
the central directory is bounded (entry count, counted from the raw records); once open, the entries' data
must not overlap (the "non-recursive" zip bomb), and members are read with byte counting, because declared
sizes can lie. The guard works on any seekable stream: bytes in memory (:class:`io.BytesIO`) or a file on
disk (bulk ingest reads gigabytes without loading them).

A document's package gets the strict checks of :func:`check_package` (OPC and ODF allow only stored or
deflated members, no zip-level encryption, no nested archives); a batch applies its own policy per entry
(:mod:`service.office.batch`) over the same structure checks and the same counted reading.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from typing import BinaryIO

from service.office.limits import DEFAULT_LIMITS, Limits
from service.office.rejected import InputRejected

_ZIP_LOCAL = b"PK\x03\x04"
_ZIP_CENTRAL = b"PK\x01\x02"
_ZIP_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_ZIP64_EOCD = b"PK\x06\x06"
# The end of central directory record and its comment, plus the zip64 locator and record before them.
_TAIL = 22 + 65535 + 20 + 56

# Only "stored" and "deflate" are allowed by OPC/ODF; bzip2/lzma would only
# widen the decompressor attack surface.
_ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)

#: Names of archives: a member that would let a later tool unpack a second layer.
ARCHIVE_EXTENSIONS = (
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

_CHUNK = 64 * 1024

# What zipfile raises for a damaged member: bad headers, a broken deflate stream, a short read.
_ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError)
# What zipfile raises for a damaged archive as it opens one.
_ZIP_OPEN_ERRORS = (zipfile.BadZipFile, NotImplementedError, ValueError, OSError, EOFError, struct.error)


# ---------------------------------------------------------------------------
# The archive: end records, central directory, layout
# ---------------------------------------------------------------------------


def _zip_directory(tail: bytes, offset: int = 0) -> tuple[int, int, int]:
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


def open_zip(fh: BinaryIO, max_entries: int) -> zipfile.ZipFile:
    """Open a zip from a seekable stream once its central directory is bounded.

    The entry count is checked on the raw directory before zipfile materialises a ZipInfo per entry (a 20 MiB
    file can hold ~400k empty records, costing hundreds of MB), then again on what zipfile parsed. Raises
    ZIP_BOMB (too_many_entries) or ZIP_CORRUPT. The caller owns the returned ZipFile (and the stream).
    """
    try:
        _precheck_central_directory(fh, max_entries)
        zf = zipfile.ZipFile(fh)
    except _ZIP_OPEN_ERRORS as exc:
        raise InputRejected("ZIP_CORRUPT", detail={"error": str(exc)[:200]}) from exc
    if len(zf.infolist()) > max_entries:
        zf.close()
        raise _too_many_entries(len(zf.infolist()), max_entries)
    return zf


def _precheck_central_directory(fh: BinaryIO, max_entries: int) -> None:
    """Bound the entry count before zipfile materialises a ZipInfo per entry.

    Counting record signatures in the directory region is an upper bound of
    what zipfile will parse (every record must start with the signature).
    """
    size = fh.seek(0, io.SEEK_END)
    start = max(0, size - _TAIL)
    fh.seek(start)
    declared, cd_size, cd_end = _zip_directory(fh.read(size - start), start)
    if declared > max_entries:
        raise _too_many_entries(declared, max_entries)
    if cd_size > cd_end:
        raise InputRejected("ZIP_CORRUPT", detail={"reason": "bad_central_directory"})
    records = _count_records(fh, cd_end - cd_size, cd_end)
    if records > max_entries:
        raise _too_many_entries(records, max_entries)


def _count_records(fh: BinaryIO, start: int, end: int) -> int:
    """Central-directory record signatures between ``start`` and ``end``, read a chunk at a time."""
    fh.seek(start)
    count, carry, left = 0, b"", end - start
    while left > 0:
        chunk = fh.read(min(left, 16 * _CHUNK))
        if not chunk:
            break
        left -= len(chunk)
        window = carry + chunk
        count += window.count(_ZIP_CENTRAL)
        carry = window[-(len(_ZIP_CENTRAL) - 1):]  # too short to hold a whole signature counted already
    return count


def _too_many_entries(count: int, limit: int) -> InputRejected:
    return InputRejected(
        "ZIP_BOMB",
        detail={
            "reason": "too_many_entries",
            "entries": count,
            "limit": limit,
        },
    )


def check_layout(zf: zipfile.ZipFile, fh: BinaryIO) -> None:
    """Reject entries whose data overlaps (many headers sharing one stream), or that point at no local header.

    Overlap is how "non-recursive" zip bombs reach huge sizes while every single
    entry looks ordinary; Python 3.11.7's zipfile does not detect it (ZIP_BOMB).
    A local header that is missing or runs into the central directory is ZIP_CORRUPT.
    """
    size = fh.seek(0, io.SEEK_END)
    start_dir = int(getattr(zf, "start_dir", size))
    prev_end = 0
    for info in sorted(zf.infolist(), key=lambda i: i.header_offset):
        offset = info.header_offset
        header = b""
        if 0 <= offset and offset + 30 <= size:
            fh.seek(offset)
            header = fh.read(30)
        if len(header) < 30 or header[:4] != _ZIP_LOCAL:
            raise InputRejected(
                "ZIP_CORRUPT",
                detail={"reason": "bad_local_header", "entry": info.filename},
            )
        if offset < prev_end:
            raise InputRejected(
                "ZIP_BOMB",
                detail={"reason": "overlapping_entries", "entry": info.filename},
            )
        name_len, extra_len = struct.unpack_from("<HH", header, 26)
        end = offset + 30 + name_len + extra_len + info.compress_size
        if end > start_dir:
            raise InputRejected(
                "ZIP_CORRUPT",
                detail={"reason": "entry_past_directory", "entry": info.filename},
            )
        prev_end = end


# ---------------------------------------------------------------------------
# A document's package
# ---------------------------------------------------------------------------


def check_package(zf: zipfile.ZipFile, fh: BinaryIO, limits: Limits) -> None:
    """The checks a document's package must pass, on declared metadata (no decompression beyond a 4-byte
    peek per member): unsafe or duplicate names, zip-level encryption, compression method, declared
    per-entry and total sizes, per-entry compression ratio, overlapping entries, and nested archives.

    ``zf`` was opened on ``fh`` by :func:`open_zip`.
    """
    infos = zf.infolist()
    seen: set[str] = set()
    total = 0
    for info in infos:
        name = info.orig_filename
        if unsafe_name(name):
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
        check_total(total, limits)
        if key.endswith(ARCHIVE_EXTENSIONS):
            raise InputRejected(
                "ZIP_BOMB", detail={"reason": "nested_archive", "entry": name}
            )

    check_layout(zf, fh)

    for info in infos:
        if info.is_dir() or info.file_size < 4 or is_embedded_package(info.filename):
            continue
        if _peek(zf, info) == _ZIP_LOCAL:
            raise InputRejected(
                "ZIP_BOMB", detail={"reason": "nested_archive", "entry": info.filename}
            )


def unsafe_name(name: str) -> bool:
    """True for names that would escape an extraction directory.

    We never extract, but other tools (LibreOffice, unzip in a debugging
    session) might, and no Office writer or zip tool produces such names.
    """
    if "\x00" in name or not name:
        return True
    normalised = name.replace("\\", "/")
    if normalised.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return True
    return ".." in normalised.split("/")


def is_embedded_package(name: str) -> bool:
    """Office packages under an ``embeddings`` folder (e.g. chart data)."""
    lowered = name.lower()
    folders = lowered.split("/")[:-1]
    return "embeddings" in folders and lowered.endswith(_EMBEDDED_PACKAGE_EXTS)


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


def _corrupt(info: zipfile.ZipInfo, exc: Exception) -> InputRejected:
    return InputRejected("ZIP_CORRUPT", detail={"entry": info.filename, "error": str(exc)[:200]})


def _peek(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """First four bytes of a member; zipfile bounds the inflate work to ~4 KiB."""
    try:
        with zf.open(info) as fh:
            return fh.read(4)
    except _ZIP_READ_ERRORS as exc:
        raise _corrupt(info, exc) from exc


# ---------------------------------------------------------------------------
# Reading members, counted
# ---------------------------------------------------------------------------


def read_member(
    zf: zipfile.ZipFile, name: str, limits: Limits = DEFAULT_LIMITS
) -> bytes:
    """Read one member of a document's package, counting bytes as they stream out of the inflater.

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
    stream_member(zf, info, limits, chunks.append)
    return b"".join(chunks)


def stream_member(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    limits: Limits,
    sink: Callable[[bytes], object] | None = None,
) -> int:
    """Inflate a package member chunk by chunk into ``sink``, enforcing limits; return bytes produced."""
    _check_entry_metadata(info, limits)
    return _inflate(zf, info, limits.max_entry_bytes, limits.max_ratio, limits.ratio_grace_bytes, sink)


def read_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, max_bytes: int) -> bytes:
    """Read one entry of any zip, counting bytes: ZIP_BOMB (entry_too_large) past ``max_bytes``,
    FILE_ENCRYPTED for a password-protected entry, ZIP_CORRUPT for one that does not inflate."""
    if info.flag_bits & 0x1:
        raise InputRejected("FILE_ENCRYPTED", detail={"container": "zip", "entry": info.filename})
    chunks: list[bytes] = []
    _inflate(zf, info, max_bytes, None, 0, chunks.append)
    return b"".join(chunks)


def _inflate(
    zf: zipfile.ZipFile,
    info: zipfile.ZipInfo,
    max_bytes: int,
    max_ratio: int | None,
    ratio_grace_bytes: int,
    sink: Callable[[bytes], object] | None,
) -> int:
    """The one counted read: stop at the first chunk past ``max_bytes`` or past ``max_ratio`` times the
    compressed size (beyond ``ratio_grace_bytes``), instead of after inflating everything."""
    produced = 0
    budget_ratio = max_ratio * max(info.compress_size, 1) if max_ratio is not None else None
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(_CHUNK)
                if not chunk:
                    break
                produced += len(chunk)
                if produced > max_bytes:
                    raise InputRejected(
                        "ZIP_BOMB",
                        detail={
                            "reason": "entry_too_large",
                            "entry": info.filename,
                            "limit": max_bytes,
                        },
                    )
                if budget_ratio is not None and produced > ratio_grace_bytes and produced > budget_ratio:
                    raise InputRejected(
                        "ZIP_BOMB",
                        detail={
                            "reason": "compression_ratio",
                            "entry": info.filename,
                            "limit": max_ratio,
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


def check_total(total: int, limits: Limits) -> None:
    """ZIP_BOMB when a package's members add up past the limit: checked on the sizes the directory declares
    (before anything is inflated) and again on the bytes really inflated (declared sizes can lie)."""
    if total > limits.max_uncompressed_bytes:
        raise InputRejected("ZIP_BOMB", detail={"reason": "total_uncompressed",
                                                "limit": limits.max_uncompressed_bytes})
