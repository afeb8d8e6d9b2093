"""Files in and out of the API: the files of a multipart request (one returned form, or attachments with their
kinds), their names as the sender knew them, and downloads under their original names.

A request holds at most :data:`MAX_FILES` files; more is a 400 that suggests a zip and the bulk ingest.
"""

from __future__ import annotations

from io import BytesIO

from flask import Response, request, send_file

from service.api.errors import ApiError
from service.api.limits import MAX_FILES


def _client_name(name: str | None, fallback: str) -> str:
    """The file's own name without any client path (``C:\\fakepath\\x.docx``) or control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch >= " " and ch != "\x7f").strip()
    return base[:200] or fallback


def _check_file_count() -> None:
    count = sum(len(request.files.getlist(key)) for key in request.files)
    if count > MAX_FILES:
        raise ApiError("TOO_MANY_FILES", limit=MAX_FILES, count=count)


def request_file(what: str) -> tuple[str, bytes]:
    """The one ``file`` part of a multipart request, with its cleaned name; ``what`` names it in the refusals."""
    _check_file_count()
    parts = [f for f in request.files.getlist("file") if f.filename]
    if not parts:
        raise ApiError("FILE_REQUIRED", what=what)
    if len(parts) > 1:
        raise ApiError("FILE_MULTIPLE", count=len(parts))
    data = parts[0].read()
    if not data:
        raise ApiError("FILE_EMPTY")
    return _client_name(parts[0].filename, "upload"), data


def request_attachments(required: bool = False) -> list[tuple[str, str, bytes]]:
    """``attachments`` files with their ``attachment_kind`` (one kind for all, or one per file, in order)."""
    _check_file_count()
    files = [f for f in request.files.getlist("attachments") if f.filename]
    kinds = [k.strip() for k in request.form.getlist("attachment_kind")]
    if not files:
        if required:
            raise ApiError("FILE_REQUIRED", "attachments")
        return []
    if not kinds or any(not k for k in kinds) or len(kinds) not in (1, len(files)):
        raise ApiError("ATTACHMENT_KIND_REQUIRED", files=len(files), kinds=len(kinds))
    if len(kinds) == 1:
        kinds = kinds * len(files)
    return [(kind, _client_name(f.filename, "attachment"), f.read()) for kind, f in zip(kinds, files, strict=True)]


def download(data: bytes, mimetype: str, name: str) -> Response:
    """``data`` as an attachment named ``name`` (the browser saves it under that name)."""
    return send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)

