"""The 字数 limit of a form's narrative (the Liaoning 工作总结: 5000 字), counted as Word counts it.

Not a ``rules`` kind: the limit and the counted fields are the form's own settings (``max_chars``,
``counted_fields``). The count is always reported, so a school sees how close it is.
"""

from __future__ import annotations

from typing import Any

from service.validate.rules.document import Document
from service.validate.wordcount import word_count


def check(doc: Document, _spec: Any = None) -> None:
    """TOO_MANY_CHARS over the limit, else CHAR_COUNT; the count and limit also go to ``result.metrics``."""
    limit = doc.form.settings.get("max_chars")
    fields = doc.form.settings.get("counted_fields")
    if not limit or not fields:
        return
    count = sum(word_count(str(doc.record.get(f, ""))) for f in fields)
    doc.result.metrics["char_count"] = count
    doc.result.metrics["char_limit"] = limit
    if count > limit:
        doc.result.add(doc.problem("TOO_MANY_CHARS", count=count, limit=limit, over=count - limit))
    else:
        doc.result.add(doc.problem("CHAR_COUNT", count=count, limit=limit))
