"""Fast rendering of docxtpl templates.

docxtpl loads the whole package through python-docx, re-runs its template preprocessing and recompiles the
Jinja template for every document (about 55 ms here). The template does not change between documents,
so this renderer runs docxtpl's own preprocessing (``patch_xml``) once, keeps the compiled Jinja template
and the other package parts in memory, and per document only renders ``word/document.xml``, applies
docxtpl's post-processing and writes the zip.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from pathlib import Path

from docxtpl import DocxTemplate
from jinja2 import Environment, Template, Undefined
from markupsafe import Markup, escape

from service.forms.stamp import Stamp, custom_properties_xml

DOCUMENT = "word/document.xml"
CUSTOM = "docProps/custom.xml"
CUSTOM_CT = '<Override PartName="/docProps/custom.xml" ContentType="application/vnd.openxmlformats-officedocument.custom-properties+xml"/>'
CUSTOM_REL = ('<Relationship Id="rIdJthCustom" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
              'custom-properties" Target="docProps/custom.xml"/>')
# Characters that XML 1.0 forbids; a pasted value containing one would make the document unreadable.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
CHECKED, UNCHECKED = "☑", "☐"


def _text(value: object) -> str:
    if value is None or isinstance(value, Undefined):
        return ""
    return _XML_INVALID.sub("", str(value)).replace("\r\n", "\n").replace("\r", "\n")


_BREAK = Markup('</w:t><w:br/><w:t xml:space="preserve">')
_TAB = Markup('</w:t><w:tab/><w:t xml:space="preserve">')


def paras(value: object) -> Markup:
    """A value as escaped run text, its line breaks as ``w:br`` and tabs as ``w:tab`` inside the field's run.

    This is what docxtpl's ``resolve_listing`` does as a regex pass over the whole document; done per value
    in the filter it costs nothing for the rest of the document.
    """
    return escape(_text(value)).replace("\n", _BREAK).replace("\t", _TAB)


def lines(value: object) -> Markup:
    """A list of strings, one line each."""
    if isinstance(value, (list, tuple)):
        return paras("\n".join(_text(v) for v in value))
    return paras(value)


def choice_boxes(options: dict[str, tuple[str, ...]]) -> Callable[[object, str], str]:
    """A filter showing every option of an enumeration with ☑ before the chosen one and ☐ before the others."""

    def boxes(value: object, path: str) -> str:
        chosen = _text(value)
        return "　".join((CHECKED if opt == chosen else UNCHECKED) + opt for opt in options.get(path, ()))

    return boxes


class DocxRenderer:
    """Renders one .docx template many times."""

    def __init__(self, template_path: Path, enums: dict[str, tuple[str, ...]]) -> None:
        with zipfile.ZipFile(template_path) as zf:
            self._parts = [(info, zf.read(info.filename)) for info in zf.infolist()]
        names = {info.filename for info, _ in self._parts}
        source = {i.filename: b for i, b in self._parts}[DOCUMENT].decode("utf-8")
        tpl = DocxTemplate(template_path)
        patched = tpl.patch_xml(source)
        patched = re.sub(r"<w:p([ >])", r"\n<w:p\1", patched)
        env = Environment(autoescape=True, undefined=Undefined)
        env.filters.update(paras=paras, lines=lines, boxes=choice_boxes(enums))
        self._template: Template = env.from_string(patched)
        self._needs_custom = CUSTOM not in names

    def render_xml(self, context: dict) -> str:
        """The rendered ``word/document.xml``."""
        xml = self._template.render(context)
        xml = re.sub(r"\n<w:p([ >])", r"<w:p\1", xml)
        return xml.replace("{_{", "{{").replace("}_}", "}}").replace("{_%", "{%").replace("%_}", "%}")

    def render(self, context: dict, stamp: Stamp) -> bytes:
        """A complete .docx: the template's parts, the rendered body and the identity stamp."""
        body = self.render_xml(context).encode("utf-8")
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
            for info, data in self._parts:
                if info.filename == DOCUMENT:
                    data = body
                elif info.filename == CUSTOM:
                    data = custom_properties_xml(stamp)
                elif self._needs_custom and info.filename == "[Content_Types].xml":
                    data = data.replace(b"</Types>", CUSTOM_CT.encode() + b"</Types>")
                elif self._needs_custom and info.filename == "_rels/.rels":
                    data = data.replace(b"</Relationships>", CUSTOM_REL.encode() + b"</Relationships>")
                out.writestr(info.filename, data)
            if self._needs_custom:
                out.writestr(CUSTOM, custom_properties_xml(stamp))
        return buf.getvalue()
