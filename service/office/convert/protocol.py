"""What crosses the converter's two boundaries: the JSON lines exchanged with ``worker.py``, and the error
codes and :class:`ConversionError` that callers of the converter switch on.

The worker runs under Debian's ``/usr/bin/python3 -I`` (``import uno`` works only there), which puts neither
the venv nor the worker's own folder on ``sys.path``: it cannot import this module. The messages are
therefore described here and in the worker's docstring, and the two codes the worker sends back
(``CONVERT_FAILED``, ``CONVERT_UNSUPPORTED``) are spelled out again there (a test holds them to the
catalogue). What a person reads is worded here, from the catalogue, never by the worker.

Messages, one JSON object per line:

* worker -> service while starting: ``{"event": "spawned", "soffice_pid": 123}``, then
  ``{"event": "ready", "sockets": [...]}`` or ``{"event": "failed", "error": "..."}``;
* service -> worker, one per conversion: ``{"src": "/in.doc", "dst": "/out.docx", "target": "docx"}``;
* worker -> service, exactly one per request: ``{"ok": true, ...}`` or
  ``{"ok": false, "code": "...", "error": "...", "fatal": bool, "stale": bool}`` (``fatal``: the worker's
  soffice is gone and it exits; ``stale``: soffice died before this request touched the document, so the
  same file may be retried on a fresh worker).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from service.problems.catalogue import entry

# Stable error codes (API contract: callers and the front end switch on these).
CONVERT_FAILED = "CONVERT_FAILED"  # LibreOffice could not read/convert this file
CONVERT_TIMEOUT = "CONVERT_TIMEOUT"  # the conversion exceeded its deadline
CONVERT_UNSUPPORTED = "CONVERT_UNSUPPORTED"  # file type / target combination not supported
CONVERT_UNAVAILABLE = "CONVERT_UNAVAILABLE"  # LibreOffice cannot be started, or converter shut down
CONVERT_BUSY = "CONVERT_BUSY"  # no worker became free in time


class ConversionError(Exception):
    """A single file could not be converted.

    ``code`` is one of the stable ``CONVERT_*`` strings; ``message`` is the Chinese sentence its catalogue entry
    words (``variant`` filled with ``fields``), to show the user as is; ``detail`` is the technical reason
    (English, from LibreOffice/the supervisor) for the logs.
    """

    def __init__(self, code: str, variant: str | None = None, /, *, detail: str = "", **fields: Any) -> None:
        self.code, self.message, self.detail = code, entry(code).text(variant, **fields), detail
        super().__init__(code, self.message, detail)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" + (f" ({self.detail})" if self.detail else "")

    def __reduce__(self) -> tuple[Any, ...]:
        return _as_worded, (self.code, self.message, self.detail)


def _as_worded(code: str, text: str, detail: str) -> ConversionError:
    """A ConversionError rebuilt as it was worded (after pickling), not worded again."""
    error = ConversionError.__new__(ConversionError)
    Exception.__init__(error, code, text, detail)
    error.code, error.message, error.detail = code, text, detail
    return error


def request(src: str, dst: str, target: str) -> dict[str, Any]:
    """The request that converts the file at ``src`` into ``dst`` as ``target`` (docx, xlsx or pdf)."""
    return {"src": src, "dst": dst, "target": target}


def encode(message: Mapping[str, Any]) -> bytes:
    """One message as one line (ASCII: the pipe carries no encoding of its own)."""
    return (json.dumps(message, ensure_ascii=True) + "\n").encode("ascii")


def decode(line: bytes) -> dict[str, Any] | None:
    """The message on one line, or None for a line that is no JSON object (a stray print from a library)."""
    try:
        message = json.loads(line)
    except ValueError:
        return None
    return message if isinstance(message, dict) else None
