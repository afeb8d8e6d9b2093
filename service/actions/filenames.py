"""The name a file is kept and shown under: what a person called it, never something that breaks a header or lies.

Names come from browsers (``filename*`` in a multipart request), API clients, zip entries and e-mail, and are
shown on pages, written into Content-Disposition headers and exported. So every name that is stored passes here
once: a client's folder path is dropped (Windows browsers send ``C:\\Users\\…``), control characters (CR/LF would
split a download's header) and the invisible direction marks (U+202E makes "报告\u202Excod.exe" look like
"报告exe.docx") are removed, and the length is bounded with the extension kept.
"""

from __future__ import annotations

import unicodedata

MAX_NAME = 200
UNNAMED = "未命名文件"


def _invisible(char: str) -> bool:
    # Cc: control characters (CR, LF, TAB, NUL …); Cf: format characters, among them the bidi overrides and
    # isolates (U+202A–U+202E, U+2066–U+2069), U+200E/F and U+061C, and zero-width characters.
    return unicodedata.category(char) in ("Cc", "Cf")


def clean_name(name: str | None) -> str:
    """The last path component of ``name`` without control or format characters, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(" " if char in "\t\r\n" else char for char in base if char in "\t\r\n" or not _invisible(char))
    base = " ".join(base.split()).strip(" .")
    if len(base) > MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        keep = "." + ext if dot and 0 < len(ext) <= 10 else ""
        base = base[: MAX_NAME - len(keep)] + keep
    return base or UNNAMED
