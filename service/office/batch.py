"""A zip of many uploads (bulk ingest), read entry by entry from disk behind the one zip guard.

The archive as a whole is refused only when its structure is hostile or broken (too many entries,
overlapping data, no readable directory); any other problem belongs to one entry, which gets its own verdict
while the rest of the batch goes on. Each entry is one upload and is bounded like one (``max_file_bytes``),
and the declared total of what is read is bounded by ``max_batch_bytes``. The messages speak of the zip the
person packed, not of a document's insides: the ``archive…`` variants of the codes in the catalogue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO
from zipfile import ZipFile, ZipInfo

from service.office.limits import DEFAULT_LIMITS, Limits, MiB
from service.office.rejected import InputRejected
from service.office.zipguard import check_layout, open_zip, read_entry, unsafe_name
from service.problems.catalogue import message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BatchEntry:
    """One file of a batch: its bytes, or why it was not read."""

    name: str
    data: bytes | None = None
    problem: InputRejected | None = None


def read_batch(path: Path, limits: Limits = DEFAULT_LIMITS,
               skip: Callable[[str], bool] = lambda name: False) -> Iterator[BatchEntry]:
    """The files of a batch zip, read one at a time, each refused clearly when unsafe or too large.

    Raises :class:`InputRejected` (before the first entry) when the archive itself is refused. ``skip`` names
    entries the caller does not want (system files a zip tool added): they are neither read nor counted, once
    their path has been found safe. After an entry that takes the total past ``max_batch_bytes`` nothing more
    is read.
    """
    with _open(path) as fh:
        try:
            zf = open_zip(fh, limits.max_batch_entries)
        except InputRejected as exc:
            raise _whole(exc, limits) from exc
        with zf:
            try:
                check_layout(zf, fh)
            except InputRejected as exc:
                raise _whole(exc, limits) from exc
            total = 0
            for info in zf.infolist():
                if info.is_dir():
                    continue
                name = entry_name(info)
                if unsafe_name(name):
                    yield _refused(name, "ZIP_UNSAFE_PATH", "archive_entry")
                    continue
                if skip(name):
                    continue
                if info.file_size > limits.max_file_bytes:
                    yield _too_large(name, limits)
                    continue
                total += info.file_size
                if total > limits.max_batch_bytes:
                    yield _refused(name, "ZIP_BOMB", "archive_total")
                    return
                yield _read(zf, info, name, limits)


def _open(path: Path) -> BinaryIO:
    """The batch's file, or ZIP_CORRUPT when it cannot be read at all."""
    try:
        return path.open("rb")
    except OSError as exc:
        raise InputRejected("ZIP_CORRUPT", message=message("ZIP_CORRUPT", "archive"),
                            detail={"error": str(exc)[:200]}) from exc


def _read(zf: ZipFile, info: ZipInfo, name: str, limits: Limits) -> BatchEntry:
    """One entry's bytes, or its verdict in the batch's words."""
    try:
        return BatchEntry(name, data=read_entry(zf, info, limits.max_file_bytes))
    except InputRejected as exc:
        log.info("zip entry %s cannot be read: %s", name, exc.detail)
        if exc.code == "ZIP_BOMB":  # more bytes than it declared
            return _too_large(name, limits)
        if exc.code == "FILE_ENCRYPTED":
            return _refused(name, "FILE_ENCRYPTED", "archive_entry")
        return _refused(name, "ZIP_CORRUPT", "archive_entry")


def _refused(name: str, code: str, variant: str, /, **fields: int) -> BatchEntry:
    """One entry refused in the words of ``variant`` of ``code``."""
    return BatchEntry(name, problem=InputRejected(code, message=message(code, variant, **fields)))


def _too_large(name: str, limits: Limits) -> BatchEntry:
    return _refused(name, "FILE_TOO_LARGE", "archive_entry", limit=limits.max_file_bytes // MiB)


def _whole(exc: InputRejected, limits: Limits) -> InputRejected:
    """The guard's verdict on the archive, said about the zip the person packed."""
    reason = exc.detail.get("reason")
    if exc.code == "ZIP_BOMB" and reason == "too_many_entries":
        text = message("ZIP_BOMB", "archive_entries", limit=limits.max_batch_entries)
    elif exc.code == "ZIP_BOMB":
        text = message("ZIP_BOMB", "archive_overlap")
    else:
        return InputRejected("ZIP_CORRUPT", message=message("ZIP_CORRUPT", "archive"), detail=exc.detail)
    return InputRejected(exc.code, message=text, detail=exc.detail)


def entry_name(info: ZipInfo) -> str:
    """The entry's name as its author saw it. Without the UTF-8 flag zipfile reads names as cp437; they are
    really UTF-8 (zips made on Linux and macOS) or GBK (Chinese Windows), tried in that order: GBK text is
    almost never valid UTF-8, the reverse often is."""
    if info.flag_bits & 0x800:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:
        return info.filename
    for encoding in ("utf-8", "gbk"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename
