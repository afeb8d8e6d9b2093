"""``forms check``: how each field is anchored in its template, what matches nothing, and a trial render.

An operator may restyle a template in Word or WPS, re-save it in LibreOffice, or bring the notice's attachment as it
was published; this check says, field by field, how the service finds the field's place (a content control, a
defined name, a template expression whose control lost its tag, or the label beside a blank place) or that it
finds none, names the labelled blanks that match no field, and renders every template twice (blank, and with a
distinct marker in every field) so that a template that would fail to render, or writes a value into another
field's place, fails here and not when a school downloads it. Every message is Chinese; nothing raises.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field

from lxml import etree
from openpyxl import load_workbook

from service.forms.catalog import Catalog, Form
from service.forms.fields import Field
from service.forms.layout import MISSING, Layout, field_labels, label_key
from service.forms.stamp import Stamp
from service.office.docx import W
from service.render.form import blank_rows, context_for, docx_renderer, template_layout, xlsx_renderer
from service.render.prepare import TemplateError
from service.render.xlsx import name_cell


@dataclass
class FormCheck:
    """What ``forms check`` says about one form."""

    key: str  # campaign/form
    title: str
    kind: str
    fields: list[tuple[str, str, str]] = field(default_factory=list)  # (path, title, how and where it is anchored)
    problems: list[str] = field(default_factory=list)  # the form fails the check
    notes: list[str] = field(default_factory=list)  # worth a look, not a failure (labels that match no field)

    @property
    def ok(self) -> bool:
        return not self.problems


def _docx_controls(xml: bytes) -> dict[str, list[str]]:
    """Tag → the text of every content control with that tag, in document order."""
    root = etree.fromstring(xml)
    texts: dict[str, list[str]] = {}
    for sdt in root.iter(W + "sdt"):
        tag = sdt.find(f"{W}sdtPr/{W}tag")
        content = sdt.find(W + "sdtContent")
        text = "".join(t.text or "" for t in content.iter(W + "t")) if content is not None else ""
        texts.setdefault(tag.get(W + "val") if tag is not None else "", []).append(text)
    return texts


def _marker_record(form: Form) -> tuple[dict, dict[str, str]]:
    """A record with a distinct value in every field (a choice: its first option), and each field's value."""
    record: dict = {}
    expect: dict[str, str] = {}
    for i, f in enumerate(form.fields):
        mark = f.enum[0] if f.enum else f"MARK{i:03d}X"
        expect[f.path] = mark
        if f.array:
            record.setdefault(f.array, [{}])[0][f.key] = mark
        elif f.type == "lines":
            record[f.path] = [mark]
        else:
            record[f.path] = mark
    return record, expect


def _shows(text: str, mark: str, f: Field) -> bool:
    """Whether a place shows the value: a choice shown as boxes must have its own box ticked."""
    if not f.enum or not any(b in text for b in "□☐☑"):
        return mark in text
    return "☑" + mark in text


def _trial_docx(form: Form) -> list[str]:
    renderer = docx_renderer(form)
    stamp = Stamp.new(form.campaign_id, form.id, form.version)
    renderer.render(context_for(form, {}), stamp)  # blank
    record, expect = _marker_record(form)
    controls = _docx_controls(renderer.render_xml(context_for(form, record)).encode("utf-8"))
    problems = []
    for f in form.fields:
        texts = controls.get(f.path)
        if not texts:
            problems.append(f"字段 {f.path}（{f.title}）在生成的文件中没有内容控件")
        elif not _shows(texts[0], expect[f.path], f):
            problems.append(f"字段 {f.path}（{f.title}）的位置没有显示该字段的值（模板表达式可能写错了字段名）")
    return problems


def _trial_xlsx(form: Form) -> list[str]:
    renderer = xlsx_renderer(form)
    stamp = Stamp.new(form.campaign_id, form.id, form.version)
    renderer.render({}, stamp, blank_rows(form))  # blank
    record, expect = _marker_record(form)
    wb = load_workbook(io.BytesIO(renderer.render(record, stamp, blank_rows(form))))
    problems = []
    for f in form.fields:
        name = f"{f.array}.{f.key}" if f.array else f.path
        cell = name_cell(wb, name)
        if cell is not None and f.array:
            cell = cell.parent.cell(row=cell.row + 1, column=cell.column)
        if cell is None:
            problems.append(f"字段 {f.path}（{f.title}）在生成的文件中没有定义名称")
        elif not _shows(str(cell.value or ""), expect[f.path], f):
            problems.append(f"字段 {f.path}（{f.title}）的单元格 {cell.coordinate} 没有显示该字段的值")
    return problems


def _missing(form: Form, f: Field, lay: Layout) -> str:
    names = "”或“".join(field_labels(form)[f.path])
    anchor = "内容控件（标记 tag 为 " + f.path + "）" if lay.kind == "docx" else "定义名称 " + (
        f"{f.array}.{f.key}" if f.array else f.path)
    what = "表头" if f.array else "标签"
    return (f"字段 {f.path}（{f.title}）在模板中没有找到：没有{anchor}，也没有{what}为“{names}”的空白处。"
            "请在模板中写上该标签并留出空白，或在 JSON Schema 中用 x-label 写明模板中的标签")


def inspect_form(form: Form, key: str = "") -> FormCheck:
    """Everything ``forms check`` says about one form."""
    out = FormCheck(key or f"{form.campaign_id}/{form.id}", form.title, form.kind)
    try:
        lay = template_layout(form)
    except TemplateError as exc:
        out.problems.append(str(exc))
        return out
    for f in form.fields:
        anchor = lay.anchors.get(f.path)
        out.fields.append((f.path, f.title, anchor.describe() if anchor else "未找到"))
        if anchor is None or anchor.how == MISSING:
            out.problems.append(_missing(form, f, lay))
        elif anchor.place is not None and anchor.place.options and f.enum and \
                [label_key(o) for o in anchor.place.options] != [label_key(o) for o in f.enum]:
            out.problems.append(f"字段 {f.path}（{f.title}）的选项与模板不一致：模板中是“{'、'.join(anchor.place.options)}”，"
                                f"JSON Schema 的 enum 是“{'、'.join(f.enum)}”；请改成一样的")
    out.problems.extend(lay.problems)
    for place in lay.unmatched:
        out.notes.append(f"标签“{place.label}”（{place.describe()}）不对应任何字段：该处填写的内容不会被读取；"
                         "如需收集，请在 JSON Schema 中加一个以它为标题（或 x-label）的字段")
    if out.problems:
        return out
    try:
        out.problems.extend(_trial_docx(form) if form.kind == "docx" else _trial_xlsx(form))
    except TemplateError as exc:
        out.problems.append(str(exc))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError, etree.XMLSyntaxError) as exc:
        out.problems.append(f"模板无法生成文件（{type(exc).__name__}：{exc}）；请在 Word/WPS 中打开模板另存后再试")
    return out


def check_form(form: Form) -> list[str]:
    """Problems with one form's template; an empty list means every field is anchored and the template renders."""
    return inspect_form(form).problems


def inspect_all(cat: Catalog) -> list[FormCheck]:
    """Every form of every campaign."""
    return [inspect_form(f) for c in cat.campaigns.values() for f in c.forms.values()]


def check_all(cat: Catalog) -> dict[str, list[str]]:
    """Problems per ``campaign/form``."""
    return {r.key: r.problems for r in inspect_all(cat)}
