"""Parsing XML from untrusted files: a locked-down lxml parser, and a DTD scan that works on streamed bytes.

OOXML and ODF parts never legitimately carry a DTD, so any DOCTYPE or ENTITY declaration is treated as an
attack (billion laughs, XXE to ``file:///etc/passwd``) and refused before libxml2 sees it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from lxml import etree

from service.office.limits import DEFAULT_LIMITS, Limits
from service.office.rejected import InputRejected

#: Options of the hardened parser, exported so iterparse() users can match them.
XML_PARSER_OPTIONS: Mapping[str, Any] = MappingProxyType(
    {
        "resolve_entities": False,
        "no_network": True,
        "load_dtd": False,
        "dtd_validation": False,
        "attribute_defaults": False,
        "huge_tree": False,
        "recover": False,
        "collect_ids": False,
    }
)

# A DOCTYPE is refused before libxml2 sees it, so neither entity expansion
# nor DTD fetching can start.  Patterns cover UTF-8/ASCII-compatible and
# UTF-16 encodings (the only ones OOXML allows).
_DTD_MARKERS = tuple(
    marker.encode(encoding)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for encoding in ("ascii", "utf-16-le", "utf-16-be")
)
# UCS-4 and EBCDIC would hide a DOCTYPE from the byte scan above.
_REFUSED_XML_PREFIXES = (
    b"\x00\x00\xfe\xff",
    b"\xff\xfe\x00\x00",
    b"\x00\x00\x00<",
    b"<\x00\x00\x00",
    b"\x4c\x6f\xa7\x94",
)

# lxml parser objects must not be shared across threads: each thread keeps its own in ``.parser``.
_thread_state = threading.local()


class _RefuseResolver(etree.Resolver):
    """Resolve every external reference to nothing (defence in depth)."""

    def resolve(self, system_url: str, public_id: str, context: Any) -> Any:
        return self.resolve_string("", context)


def _xml_parser() -> etree.XMLParser:
    """Per-thread parser: lxml parser objects must not be shared across threads."""
    parser = getattr(_thread_state, "parser", None)
    if parser is None:
        parser = etree.XMLParser(**XML_PARSER_OPTIONS)
        parser.resolvers.add(_RefuseResolver())
        _thread_state.parser = parser
    return parser


def parse_xml(data: bytes, limits: Limits | None = None) -> etree._Element:
    """Parse one XML part with a parser that cannot be turned against us.

    OOXML parts never need a DTD, so any DOCTYPE/ENTITY declaration is
    treated as an attack (billion laughs, XXE to ``file:///etc/passwd``) and
    refused with XML_HOSTILE before parsing; the parse options and a
    post-parse check back that up.  Oversize input is XML_TOO_LARGE,
    anything libxml2 rejects is XML_MALFORMED.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(
            "parse_xml() needs bytes; the encoding comes from the XML itself"
        )
    data = bytes(data)
    limit = (limits or DEFAULT_LIMITS).max_xml_bytes
    if len(data) > limit:
        raise InputRejected("XML_TOO_LARGE", detail={"size": len(data), "limit": limit})
    if data.startswith(_REFUSED_XML_PREFIXES):
        raise InputRejected("XML_MALFORMED", detail={"reason": "unsupported_encoding"})
    # Every marker holds a "!": a part without one (nearly all of them) needs no marker search.
    if b"!" in data and any(marker in data for marker in _DTD_MARKERS):
        raise InputRejected("XML_HOSTILE", detail={"reason": "doctype"})
    try:
        root = etree.fromstring(data, _xml_parser())
    except (etree.XMLSyntaxError, ValueError) as exc:
        raise InputRejected("XML_MALFORMED", detail={"error": str(exc)[:200]}) from exc
    if root is None:
        raise InputRejected("XML_MALFORMED", detail={"reason": "empty"})
    docinfo = root.getroottree().docinfo
    if (
        docinfo.doctype
        or docinfo.internalDTD is not None
        or docinfo.externalDTD is not None
    ):
        raise InputRejected("XML_HOSTILE", detail={"reason": "doctype"})
    return root


def local_name(tag: Any) -> str:
    """Local name of an element tag (comments/PIs have non-string tags)."""
    return etree.QName(tag).localname if isinstance(tag, str) else ""


class DtdScan:
    """Looks for a DTD in an XML part as it streams out of the inflater (markers may straddle two chunks).

    Call it with each chunk in order; ``found`` tells the verdict. Used for parts this platform never parses
    (LibreOffice may, when it converts or compiles the file), where :func:`parse_xml` cannot stand guard.
    """

    MARKERS = tuple(
        marker.encode(encoding)
        for marker in ("<!doctype", "<!entity", "+adw-!doctype", "+adw-!entity")  # the last two: UTF-7
        for encoding in ("ascii", "utf-16-le", "utf-16-be")
    )
    KEEP = max(len(m) for m in MARKERS)

    UTF7 = re.compile(rb"""^[^>]{0,100}encoding\s*=\s*["']utf-?7""")  # hides a DTD from every byte scan

    LEADS = (b"<!", b"<\x00!", b"\x00<\x00!", b"+adw-")  # how every marker starts: cheap to rule out
    # The UTF-7 test on the chunk as it comes: bytes patterns fold ASCII letters only, as bytes.lower() does.
    UTF7_ANY_CASE = re.compile(UTF7.pattern, re.IGNORECASE)

    def __init__(self) -> None:
        self.tail = b""
        self.found = False

    def __call__(self, chunk: bytes) -> None:
        if not self.found:
            if b"!" in chunk or b"!" in self.tail:
                window = self.tail + chunk.lower()
                if (any(lead in window for lead in self.LEADS) and any(m in window for m in self.MARKERS)) or (
                        not self.tail and self.UTF7.match(window)):
                    self.found = True
            # Every marker holds a "!" (0x21 in each encoding), so without one only the UTF-7 test can match:
            # the chunk need not be lowered whole (an XML part seldom holds a "!").
            elif not self.tail and self.UTF7_ANY_CASE.match(chunk):
                self.found = True
        self.tail = (self.tail + chunk[-self.KEEP:].lower())[-self.KEEP:]


def has_dtd(data: bytes) -> bool:
    """Whether an XML part declares a DTD or entities (in any encoding that would hide one from a plain scan)."""
    scan = DtdScan()
    scan(data)
    return scan.found
