"""The API's error contract: every answer under ``/api/`` that is not a success is
``{"error": {"code": ..., "message": ...}}`` with a stable code and a Chinese message that says what to do.

Every code is an entry of the problem catalogue (``data/problems.json``), which words the message and gives the
HTTP status: :class:`ApiError` is what a route raises, :func:`jsonify_error` builds the answer, and
:data:`HTTP_CODES` names the entry of each HTTP error Flask and Werkzeug raise themselves. The handlers that
use them are registered in :mod:`service.api`; the OpenAPI document lists the catalogue's codes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, current_app, jsonify

from service.problems.catalogue import entry, message


class ApiError(Exception):
    """A refusal with a catalogue code, raised anywhere in an API view and answered as JSON
    ``{"error": {"code", "message", ...extra}}`` by the handler in :mod:`service.api`.

    The entry of ``code`` (its ``variant``, filled with ``fields``) words the message and gives the HTTP status,
    so a route names what went wrong and never writes the text; ``headers`` go on the answer, ``extra`` into
    the error object (the field problems of RECORD_INVALID).
    """

    def __init__(self, code: str, variant: str | None = None, /, *, headers: Mapping[str, str] | None = None,
                 extra: Mapping[str, Any] | None = None, **fields: Any) -> None:
        spec = entry(code)
        self.code, self.status, self.message = code, spec.http_status, spec.text(variant, **fields)
        self.headers, self.extra = dict(headers or {}), dict(extra or {})
        super().__init__(code, self.message)


def jsonify_error(status: int, code: str, message: str, **extra: Any) -> Response:
    """The API's error answer: ``{"error": {"code", "message", ...extra}}`` with ``status``."""
    response = jsonify(error={"code": code, "message": message, **extra})
    response.status_code = status
    return response


#: The catalogue entry of each HTTP error Flask and Werkzeug raise themselves (its status is the entry's).
HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "AUTH_REQUIRED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    408: "REQUEST_TIMEOUT",
    411: "LENGTH_REQUIRED",
    413: "REQUEST_TOO_LARGE",
    414: "URI_TOO_LONG",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_REQUESTS",
    431: "HEADERS_TOO_LARGE",
    500: "INTERNAL_ERROR",
    501: "NOT_IMPLEMENTED",
    503: "SERVICE_UNAVAILABLE",
}
#: Any other HTTP error (416 for a bad Range header, 410 …): the status stays, the words are this entry's.
OTHER_HTTP_ERROR = "REQUEST_FAILED"


def http_message(status: int) -> tuple[str, str]:
    """The catalogue code and the Chinese message of an HTTP status (413 names the app's upload limit)."""
    code = HTTP_CODES.get(status, OTHER_HTTP_ERROR)
    if code == "REQUEST_TOO_LARGE":
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        return code, message(code, limit=limit // (1024 * 1024))
    return code, message(code)
