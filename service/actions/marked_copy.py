"""A submission's file marked up for its unit (Word comments / Excel cell comments), for web and API alike.

The copy says, at each place: the problems found there (the stamped copy's differences from this one among them); what a reviewer decided about a value (复核结论, who and
when); and, on the title, the staff's message when the file was sent back (退回修改). Each comment spans the value
it is about.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select

from service.actions.decisions import decisions_of
from service.actions.intake import IntakeError
from service.forms.catalog import Catalog, Form, catalog
from service.forms.dates import official_date, shown_value
from service.office.convert.client import get_converter
from service.office.convert.protocol import ConversionError
from service.office.rejected import InputRejected
from service.office.sniff import sniff
from service.outputs.decision_titles import decision_title, document_code
from service.render.markup import Remark, mark, problem_remark
from service.store import Store
from service.store.lifecycle import label
from service.store.models import Submission, User

BEIJING = dt.timezone(dt.timedelta(hours=8))
RETURNED = "returned"
EMPTY = "（空）"


def _read_text(field_report: dict[str, Any] | None) -> str:
    """The text read at a field's place (what the comment spans), when it is text."""
    if not field_report:
        return ""
    for key in ("raw", "value"):
        if isinstance(field_report.get(key), str):
            return field_report[key]
    return ""


def _shown(form: Form, path: str, value: Any) -> str:
    """A decided value as the unit reads it: dates the official way, lines joined by 、, nothing as （空）."""
    schema_path = re.sub(r"\.\d+\.", "[].", path)  # members.3.name → members[].name
    field_ = next((f for f in form.fields if f.path == schema_path), None)
    if field_ is not None:
        value = shown_value(field_, value)
    if value is None or value == "" or value == []:
        return EMPTY
    if isinstance(value, list):
        return "、".join(str(v) for v in value)
    return str(value)


def _day(moment: dt.datetime) -> str:
    """The calendar day in Beijing of a stored moment (SQLite keeps no offset; the store writes UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return official_date(moment.astimezone(BEIJING).date())


def _decision_remarks(store: Store, sub: Submission, form: Form) -> list[Remark]:
    """One remark per reviewer decision on this version, at the decided field (on the title for a document-level
    one): 复核结论：value（who，day）note."""
    with store.session() as s:
        decisions = decisions_of(s, sub.id)
        names = {u.username: u.display_name for u in s.scalars(select(User).where(
            User.username.in_({d.user for d in decisions})))} if decisions else {}
    read = {f["path"]: f for f in sub.report.get("fields", []) if f.get("path")}
    out = []
    for d in decisions:
        who = f"（{names.get(d.user) or d.user}，{_day(d.created_at)}）{(d.note or '').strip()}"
        if document_code(d.path) is not None:
            out.append(Remark(f"复核结论：予以接受“{decision_title(form, d.path)}”{who}", highlight=False))
            continue
        found = read.get(d.path)
        text = f"复核结论：{_shown(form, d.path, d.value)}{who}"
        if not found or not found.get("where"):  # not found in the file: on the title, saying which field
            title = (found or {}).get("title") or d.path
            out.append(Remark(f"【{title}】{text}", highlight=False))
            continue
        out.append(Remark(text, found["where"], _read_text(found), d.path, highlight=False))
    return out


def marked_copy(store: Store, sub: Submission, cat: Catalog | None = None) -> tuple[bytes, str]:
    """The marked-up .docx/.xlsx and its file name; legacy files are marked in their converted form."""
    cat = cat or catalog()
    if not sub.readable or not sub.form_id:
        raise IntakeError("MARKUP_UNAVAILABLE")
    try:  # a file of another campaign's form is marked as the form it is
        form = cat.form(sub.report.get("campaign") or sub.campaign_id, sub.form_id)
    except LookupError as exc:
        raise IntakeError("MARKUP_UNAVAILABLE", "unknown_form") from exc
    if (sub.report.get("metrics") or {}).get("scan"):  # a PDF or a picture: pages, no document to comment in
        raise IntakeError("MARKUP_UNAVAILABLE", "pages")
    kind = form.kind
    content = store.files.get(sub.sha256)
    try:
        sniffed = sniff(content, sub.original_name)
        if sniffed.needs_conversion:
            content = get_converter().convert(content, sniffed.ext, kind)
    except (InputRejected, ConversionError) as exc:
        raise IntakeError("MARKUP_UNAVAILABLE", "not_converted") from exc
    remarks: list[Remark] = []
    if sub.status == RETURNED:
        note = (sub.state_note or "").strip()
        remarks.append(Remark(f"{label(RETURNED)}：{note}" if note else label(RETURNED), highlight=False))
    read = {f["path"]: f for f in sub.report.get("fields", []) if f.get("path")}
    problems = [p for p in [*sub.report.get("errors", []), *sub.cross_problems, *sub.report.get("warnings", [])]
                if p["severity"] != "info"]
    remarks += [problem_remark(p, _read_text(read.get(p.get("path", "")))) for p in problems]
    remarks += _decision_remarks(store, sub, form)
    stem = sub.original_name.rsplit(".", 1)[0]
    return mark(content, kind, remarks, title=form.title), f"批注-{stem}.{kind}"
