"""The file store in S3-compatible object storage (MinIO, AWS S3, and the OSS, COS and OBS of Chinese clouds).

Selected with ``JTH_FILE_STORE=s3://bucket/prefix``. Content-addressed like the folder store: a file is the
object ``prefix/ab/cd/abcd…`` named by its sha256, so writing it twice is one object and what comes back is
checked against its name. Every write carries ``Content-MD5``, which S3 and the services that speak it check, so
bytes damaged on the way are refused by the server rather than kept. Requests are retried by botocore; the
credentials go to the client and nowhere else (never into a repr, a log line or an error).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, IncompleteReadError, ReadTimeoutError, ResponseStreamingError

from service.store.files import FileMissing, relative_name

log = logging.getLogger(__name__)

# Reads cut off half-way are retried here (botocore retries whole requests, not a body that stops arriving).
READ_ATTEMPTS = 3


def _config(region: str, addressing_style: str) -> Config:
    if addressing_style not in ("", "auto", "path", "virtual"):
        raise ValueError(f"s3 file store: addressing style {addressing_style!r} is none of auto, path, virtual")
    return Config(
        region_name=region or None,
        retries={"mode": "standard", "max_attempts": 5},
        connect_timeout=10,
        read_timeout=60,
        # Checksums only where an API requires them: botocore's newer default (a CRC32 trailer on every upload,
        # aws-chunked) is refused by several S3-compatible services; Content-MD5 below is checked by all of them.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
        # auto: bucket in the path for an endpoint of our own (MinIO); OSS wants it in the host name (virtual).
        s3={"addressing_style": addressing_style or "auto"},
    )


def _public_endpoint(url: str) -> str:
    """The endpoint as it may be shown: without any user:password written into it."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        host = parts.hostname or ""
        return urlunsplit((parts.scheme, host + (f":{parts.port}" if parts.port else ""), parts.path, "", ""))
    return url


def _missing(exc: ClientError) -> bool:
    code = str(exc.response.get("Error", {}).get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return code in ("404", "NoSuchKey", "NotFound") or status == 404


class ObjectFileStore:
    """Files as objects in one bucket, under one prefix."""

    def __init__(self, bucket: str, prefix: str = "", *, client=None, endpoint_url: str = "", region: str = "",
                 access_key: str = "", secret_key: str = "", addressing_style: str = "") -> None:
        if not bucket:
            raise ValueError("s3 file store: no bucket named (JTH_FILE_STORE=s3://bucket/prefix)")
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.endpoint = _public_endpoint(endpoint_url) if endpoint_url else ""
        if client is None:
            keys = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key} if access_key else {}
            # A session of its own: boto3's default session is shared and not safe to build clients from threads.
            client = boto3.session.Session().client("s3", endpoint_url=endpoint_url or None,
                                                    config=_config(region, addressing_style), **keys)
        self.client = client

    @classmethod
    def from_url(cls, url: str, **settings: str) -> ObjectFileStore:
        """The store at ``s3://bucket/prefix`` (the prefix may be empty)."""
        parts = urlsplit(url)
        if parts.scheme != "s3" or parts.username or parts.password or parts.query:
            raise ValueError("s3 file store: write JTH_FILE_STORE as s3://bucket/prefix; keys go in their own settings")
        return cls(parts.netloc, parts.path, **settings)

    def __repr__(self) -> str:
        at = f" at {self.endpoint}" if self.endpoint else ""
        return f"ObjectFileStore('s3://{self.bucket}/{self.prefix}'{at})"

    def key(self, sha256: str) -> str:
        return self.prefix + relative_name(sha256)

    def _where(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _size(self, key: str) -> int | None:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=key)["ContentLength"]
        except ClientError as exc:
            if _missing(exc):
                return None
            raise

    def put(self, data: bytes, *, durable: bool = True) -> str:
        """Store ``data`` once; an object is durable when the server answers, so ``durable`` changes nothing."""
        digest = hashlib.sha256(data).hexdigest()
        key = self.key(digest)
        if self._size(key) == len(data):
            return digest
        md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode("ascii")
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentMD5=md5,
                               ContentType="application/octet-stream")
        log.debug("stored %s (%d bytes) in %s", digest, len(data), self._where())
        return digest

    def sync(self) -> None:
        """Nothing to flush: every put was durable when it returned."""

    def get(self, sha256: str) -> bytes:
        key = self.key(sha256)
        for attempt in range(1, READ_ATTEMPTS + 1):
            try:
                data = self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
                break
            except ClientError as exc:
                if _missing(exc):
                    raise FileMissing(sha256, self._where()) from None
                raise
            except (IncompleteReadError, ReadTimeoutError, ResponseStreamingError):
                if attempt == READ_ATTEMPTS:
                    raise
                log.warning("reading %s from %s broke off; reading it again", sha256, self._where())
        if hashlib.sha256(data).hexdigest() != sha256:
            raise OSError(f"stored file {sha256} in {self._where()} does not match its sha256")
        return data

    def exists(self, sha256: str) -> bool:
        return self._size(self.key(sha256)) is not None

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        """The object downloaded into a private temporary file, removed when the block ends."""
        key = self.key(sha256)
        fd, name = tempfile.mkstemp(prefix="jth-object-")
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as fh:
                try:
                    self.client.download_fileobj(self.bucket, key, fh)
                except ClientError as exc:
                    if _missing(exc):
                        raise FileMissing(sha256, self._where()) from None
                    raise
            if _file_sha256(path) != sha256:
                raise OSError(f"stored file {sha256} in {self._where()} does not match its sha256")
            yield path
        finally:
            path.unlink(missing_ok=True)


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()
