"""Content-addressed file store: every upload's bytes kept once, under their sha256, before anything parses them.

Two kinds of store keep the same promise, :class:`FileStore` below: a folder on this machine (the default,
:class:`LocalFileStore`) and S3-compatible object storage (:mod:`service.store.objects`: MinIO, AWS, and the
OSS, COS and OBS of Chinese clouds). Either way a file lives under ``ab/cd/abcd…`` (its sha256), is written
whole or not at all, and writing the same content twice is a no-op.

In the folder, writes go to a temporary file in the same directory, are flushed to disk and renamed into place,
so a crash never leaves half a file under a final name.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


class FileMissing(FileNotFoundError):
    """No file with this sha256 in the store (an OSError, as a missing file on disk always was)."""

    def __init__(self, sha256: str, where: str) -> None:
        super().__init__(f"no stored file {sha256} in {where}")
        self.sha256 = sha256


def checked(sha256: str) -> str:
    """``sha256`` if it is a lowercase sha256 hex digest; anything else never names a stored file."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise ValueError("not a sha256 hex digest")
    return sha256


def relative_name(sha256: str) -> str:
    """Where a file lives below the store's root or prefix: ``ab/cd/abcd…``."""
    return f"{sha256[:2]}/{sha256[2:4]}/{checked(sha256)}"


class FileStore(Protocol):
    """What the service asks of a file store; :class:`LocalFileStore` and ``objects.ObjectFileStore`` answer."""

    def put(self, data: bytes, *, durable: bool = True) -> str:
        """Store ``data`` and return its sha256; with ``durable=False`` the caller calls :meth:`sync` later."""

    def get(self, sha256: str) -> bytes:
        """The stored bytes; :class:`FileMissing` when there are none."""

    def exists(self, sha256: str) -> bool:
        """Whether a file with this sha256 is stored."""

    def sync(self) -> None:
        """Make every ``durable=False`` write so far durable."""

    def local_path(self, sha256: str) -> AbstractContextManager[Path]:
        """A file on this machine with the stored bytes, for readers that need a path (a zip), while in use."""


class LocalFileStore:
    """The store as a folder on this machine (``instance/files`` by default)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def __repr__(self) -> str:
        return f"LocalFileStore({str(self.root)!r})"

    def path(self, sha256: str) -> Path:
        return self.root / relative_name(sha256)

    def put(self, data: bytes, *, durable: bool = True) -> str:
        """Store ``data``; with ``durable=False`` the caller calls :meth:`sync` before relying on it (batches)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists() and target.stat().st_size == len(data):
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".incoming-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                if durable:
                    os.fsync(fh.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def sync(self) -> None:
        """Flush every file written to the store's file system to disk (one call for a whole batch)."""
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if getattr(_libc, "syncfs", None) is None or _libc.syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    def get(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise FileMissing(sha256, str(self.root)) from None

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        """The stored file itself (read it, never write it)."""
        path = self.path(sha256)
        if not path.exists():
            raise FileMissing(sha256, str(self.root))
        yield path

