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
from jinja2 import Environment, Template, TemplateSyntaxError, Undefined
from jinja2 import TemplateError as JinjaError
from markupsafe import Markup, escape

from service.forms.places import ticked
from service.forms.stamp import Stamp, custom_properties_xml
from service.render.prepare import RECORD, TemplateError

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


def tick(value: object, written: str) -> Markup:
    """The choices as the template writes them (□是　□否), the chosen one ticked (☑是　□否)."""
    return paras(ticked(written, _text(value)))


# Entities an office suite writes inside a template expression (boxes(&apos;x&apos;)): what they stand for.
_ENTITIES = {"&apos;": "'", "&quot;": '"', "&amp;": "&", "&#39;": "'", "&#34;": '"'}
_IN_TAG = re.compile(r"(?<=\{[{%])(.*?)(?=[}%]\})", re.S)


def _unescaped(xml: str) -> str:
    def clean(m: re.Match) -> str:
        text = m.group(0)
        for entity, char in _ENTITIES.items():
            text = text.replace(entity, char)
        return text

    return _IN_TAG.sub(clean, xml)


def _near(source: str, lineno: int | None) -> str:
    """The template text around a syntax error, without the XML: what the operator sees in Word."""
    lines = source.split("\n")
    line = lines[lineno - 1] if lineno and 0 < lineno <= len(lines) else ""
    text = re.sub(r"<[^>]+>", "", line)
    found = re.findall(r"\{[{%#].{0,60}", text)
    return (found[0] if found else text)[:80]


def choice_boxes(options: dict[str, tuple[str, ...]]) -> Callable[[object, str], str]:
    """A filter showing every option of an enumeration with ☑ before the chosen one and ☐ before the others."""

    def boxes(value: object, path: str) -> str:
        chosen = _text(value)
        return "　".join((CHECKED if opt == chosen else UNCHECKED) + opt for opt in options.get(path, ()))

    return boxes


class DocxRenderer:
    """Renders one .docx template many times."""

    def __init__(self, template: Path | bytes, enums: dict[str, tuple[str, ...]]) -> None:
        package = template if isinstance(template, bytes) else Path(template).read_bytes()
        with zipfile.ZipFile(io.BytesIO(package)) as zf:
            self._parts = [(info, zf.read(info.filename)) for info in zf.infolist()]
        names = {info.filename for info, _ in self._parts}
        source = {i.filename: b for i, b in self._parts}[DOCUMENT].decode("utf-8")
        tpl = DocxTemplate(io.BytesIO(package))
        patched = _unescaped(tpl.patch_xml(source))
        patched = re.sub(r"<w:p([ >])", r"\n<w:p\1", patched)
        env = Environment(autoescape=True, undefined=Undefined)
        env.filters.update(paras=paras, lines=lines, boxes=choice_boxes(enums), tick=tick)
        try:
            self._template: Template = env.from_string(patched)
        except TemplateSyntaxError as exc:
            raise TemplateError(
                f"模板中的表达式有语法错误（{exc.message}），在“{_near(patched, exc.lineno)}”附近。"
                "请在 Word/WPS 中改正这处 {{ }} 或 {% %}，或删去它、让平台按标签找到该栏") from None
        self._needs_custom = CUSTOM not in names

    def render_xml(self, context: dict) -> str:
        """The rendered ``word/document.xml``."""
        try:
            xml = self._template.render({**context, RECORD: context})
        except (JinjaError, TypeError, AttributeError, KeyError) as exc:
            raise TemplateError(f"模板中的表达式无法生成文件（{exc}）；请用 forms check 检查模板") from None
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
