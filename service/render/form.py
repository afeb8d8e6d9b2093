"""Render a form blank or prefilled: from a record, from reference data (an entity), or both.

The one entry point the CLI, the web form and the API call. Renderers are cached per form because
building one (reading the template, compiling it) costs more than rendering a document.
"""

from __future__ import annotations

import functools
import re
import zipfile
from dataclasses import dataclass

from service.forms.catalog import Catalog, Form, catalog
from service.forms.dates import shown_record
from service.forms.fields import arrays
from service.forms.layout import Layout, layout
from service.forms.stamp import Stamp
from service.office.rejected import InputRejected
from service.render.docx import DocxRenderer
from service.render.prepare import TemplateError, prepare_docx, prepare_xlsx, written_choices
from service.render.xlsx import XlsxRenderer


@dataclass(frozen=True)
class Rendered:
    """A generated document and what it is."""

    content: bytes
    filename: str
    stamp: Stamp
    media_type: str


MEDIA = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def template_layout(form: Form) -> Layout:
    """The form's layout; a template that cannot be read is a TemplateError worded for the operator."""
    if not form.template_path.is_file():
        raise TemplateError(f"模板文件不存在：{form.template_path}")
    try:
        return layout(form)
    except InputRejected as exc:
        raise TemplateError(f"模板无法读取：{exc.message}") from None
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TemplateError(f"模板无法读取（{exc}）；请用 Word、WPS 或 LibreOffice 另存为 .{form.kind} 后重试") from None


@functools.cache
def docx_renderer(form: Form) -> DocxRenderer:
    """The form's Word renderer, built once per form: every field anchored (:mod:`service.render.prepare`)."""
    enums = {f.path: f.enum for f in form.fields if f.enum}
    package = prepare_docx(form.template_path.read_bytes(), template_layout(form), form.fields)
    return DocxRenderer(package, enums)


@functools.cache
def xlsx_renderer(form: Form) -> XlsxRenderer:
    """The form's Excel renderer, built once per form: every field a defined name."""
    lay = template_layout(form)
    try:
        workbook = prepare_xlsx(form.template_path.read_bytes(), lay, form.fields)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise TemplateError(f"模板无法读取（{exc}）；请用 Excel、WPS 或 LibreOffice 另存为 .xlsx 后重试") from None
    return XlsxRenderer(workbook, form.fields, written_choices(lay))


def blank_rows(form: Form) -> dict[str, int]:
    """Empty rows to leave in each repeated table: the campaign's setting, else as many as the template has."""
    rows = dict(template_layout(form).blank_rows)
    rows.update(form.settings.get("blank_rows", {}))
    return rows


def prefill(cat: Catalog, form: Form, entity_id: str) -> dict:
    """Values taken from the reference row of ``entity_id`` (e.g. a Liaoning group's name and lead schools)."""
    spec = form.settings.get("entity")
    if not spec:
        raise LookupError(f"表单 {form.id} 不支持按单位预填")
    row = dict(cat.entity(spec["source"], entity_id))
    rtype = cat.campaign(form.campaign_id).recommender_type(row.get("type", ""))
    if rtype:
        row["type_label"] = rtype["label"]
    return {field: row[attr] for field, attr in spec["prefill"].items() if attr in row}


def context_for(form: Form, record: dict) -> dict:
    """The template context: the record, with repeated tables padded with empty rows to fill in by hand."""
    ctx = dict(record)
    padding = blank_rows(form)
    for array in arrays(form.fields):
        items = list(ctx.get(array) or [])
        items += [{}] * max(0, padding.get(array, 0) - len(items))
        ctx[array] = items
    return ctx


def _filename(form: Form, record: dict) -> str:
    who = record.get("group_name") or record.get("recommender") or ""
    who = re.sub(r'[\\/:*?"<>|\s]+', "", str(who))[:40]
    parts = [p for p in (form.annex, form.title, who) if p]
    return "-".join(parts) + "." + form.kind


def render(
    campaign_id: str,
    form_id: str,
    record: dict | None = None,
    entity_id: str | None = None,
    *,
    cat: Catalog | None = None,
) -> Rendered:
    """Render the form; values in ``record`` win over those prefilled from the entity.

    Dates are written the official way (2020年11月18日, 2009年6月), as a person fills the form by hand. A template
    that cannot be rendered raises :class:`TemplateError` (its message is for the operator; ``forms check`` says
    it before anyone downloads the form).
    """
    cat = cat or catalog()
    form = cat.form(campaign_id, form_id)
    values: dict = {}
    if entity_id:
        values.update(prefill(cat, form, entity_id))
    values.update({k: v for k, v in (record or {}).items() if v not in (None, "")})
    stamp = Stamp.new(form.campaign_id, form.id, form.version, entity_id or "")
    shown = shown_record(form.fields, values)
    if form.kind == "docx":
        content = docx_renderer(form).render(context_for(form, shown), stamp)
    else:
        content = xlsx_renderer(form).render(shown, stamp, blank_rows(form))
    return Rendered(content, _filename(form, values), stamp, MEDIA[form.kind])
