"""Outside links in an OOXML package made inert: a copy the platform hands back opens without fetching anything.

A returned document may point outside itself: an attached template on a server, a picture or an OLE object
linked rather than embedded, a frame, a hyperlink. Word fetches some of these as soon as the file is opened
(leaking the reader's address, or an NTLM hash on a Windows network). Every relationship with
``TargetMode="External"`` is pointed at ``about:blank``; the part that refers to it keeps a valid reference, so
the document still opens without repair, and its text is unchanged.
"""

from __future__ import annotations

import io
import zipfile

from lxml import etree

from service.office.xml import parse_xml

INERT = "about:blank"
RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"


def inert_links(package: bytes) -> bytes:
    """The package with every external relationship's target replaced by ``about:blank``."""
    source = zipfile.ZipFile(io.BytesIO(package))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename.endswith(".rels"):
                root = parse_xml(data)
                changed = False
                for rel in root.iter(RELS):
                    if rel.get("TargetMode") == "External" and rel.get("Target") != INERT:
                        rel.set("Target", INERT)
                        changed = True
                if changed:
                    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)
            target.writestr(info, data)
    return out.getvalue()
