"""The one exception the office layer raises for a file it refuses, with the catalogue's code and text."""

from __future__ import annotations

from typing import Any

from service.problems.catalogue import CATALOGUE


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
