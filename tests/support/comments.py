"""The Word comments of a marked copy and the text each one spans — test helper."""

from __future__ import annotations

import io
import zipfile

from lxml import etree

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def comment_spans(content: bytes) -> dict[str, str]:
    """Each comment's text (its paragraphs joined by newlines) → the text between its ``w:commentRangeStart`` and
    ``w:commentRangeEnd`` in document order; AssertionError when a comment has no closed range."""
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        body = etree.fromstring(zf.read("word/document.xml"))
        comments = etree.fromstring(zf.read("word/comments.xml"))
    texts = {c.get(W + "id"): "\n".join("".join(t.text or "" for t in p.iter(W + "t")) for p in c.iter(W + "p"))
             for c in comments.iter(W + "comment")}
    covered: dict[str, str] = {}
    open_ids: list[str] = []
    closed: set[str] = set()
    for el in body.iter(W + "commentRangeStart", W + "commentRangeEnd", W + "t"):
        cid = el.get(W + "id")
        if el.tag == W + "commentRangeStart":
            open_ids.append(cid)
            covered[cid] = ""
        elif el.tag == W + "commentRangeEnd":
            open_ids.remove(cid)
            closed.add(cid)
        else:
            for i in open_ids:
                covered[i] += el.text or ""
    assert closed == set(texts), "every comment has a closed range"
    return {texts[i]: covered[i] for i in texts}
