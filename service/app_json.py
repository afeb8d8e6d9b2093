"""JSON for the whole app (pages' JSON and the API): Chinese as written, and request bodies bounded in depth.

Python's parser recurses once per nesting level, so a body of a thousand ``[`` fails deep inside the parser, or
worse inside the validation after it, as a 500 with a traceback. Real records nest three levels (a form, its
tables, a row): a body nested deeper than :data:`MAX_DEPTH` is refused as a bad request before it is parsed.
"""

from __future__ import annotations

import re
from typing import Any

from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

MAX_DEPTH = 32
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKETS = re.compile(r"[\[\]{}]")


def too_deep(text: str, limit: int = MAX_DEPTH) -> bool:
    """Whether the JSON text nests arrays and objects more than ``limit`` levels (strings are skipped)."""
    depth = 0
    for match in _BRACKETS.finditer(_STRINGS.sub("", text)):
        depth += 1 if match.group() in "[{" else -1
        if depth > limit:
            return True
    return False


class BoundedJSONProvider(DefaultJSONProvider):
    ensure_ascii = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        text = s.decode("utf-8", errors="replace") if isinstance(s, bytes) else s
        if too_deep(text):
            raise BadRequest(f"JSON 嵌套超过 {MAX_DEPTH} 层")
        return super().loads(s, **kwargs)
