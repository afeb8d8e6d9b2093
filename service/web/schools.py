"""Pages for schools (no login): each campaign's key facts and templates, and a web form per form.

The web form is generated from the form's JSON Schema (titles, descriptions, enums as choices, repeated rows that
can be added) and checked with the same rules as returned files (:func:`record_check.check_record` after the
parser's own normalization), each error shown next to its field. What it produces is the prefilled document.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, request

from service.forms.catalog import Form, catalog
from service.forms.fields import Field, arrays
from service.parse.normalize import Normalized, is_narrative, normalize
from service.problems.report import ParseResult, problem
from service.render.form import prefill, render
from service.validate.rules import document_rules
from service.validate.schema import check_record
from service.web.pages import page, send_download

BEFORE_ANY_DEADLINE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
bp = Blueprint("schools", __name__)
MAX_ROWS = 300


def _campaign_or_404(campaign_id: str):
    try:
        return catalog().campaign(campaign_id)
    except LookupError:
        abort(404)


def _form_or_404(campaign_id: str, form_id: str) -> Form:
    try:
        return catalog().form(campaign_id, form_id)
    except LookupError:
        abort(404)


def _campaign_facts(c) -> dict[str, Any]:
    d = c.data
    return {
        "id": c.id, "title": c.title, "document_number": d["document_number"], "issuer": d["issuer"],
        "issued": d.get("issued", ""), "deadline": d["deadline"], "summary": d.get("summary", ""),
        "submit_to": d.get("submit_to", {}), "contacts": d.get("contacts", []),
        "quotas": [{"label": t["label"], "quota": t["quota"]} for t in d.get("recommender_types", [])],
        "attachments": [{"title": a["title"], "required": a.get("required", False)} for a in d.get("attachments", [])],
        "forms": [{"id": f.id, "title": f.title, "annex": f.annex, "format": f.kind,
                   "template_url": f"/campaigns/{c.id}/forms/{f.id}/download",
                   "fill_url": f"/campaigns/{c.id}/forms/{f.id}/fill"} for f in c.forms.values()],
    }


@bp.get("/")
def index():
    cat = catalog()
    return page("schools/index.html", {"campaigns": [_campaign_facts(c) for c in cat.campaigns.values()]})


@bp.get("/campaigns/<campaign_id>")
def campaign(campaign_id: str):
    c = _campaign_or_404(campaign_id)
    facts = _campaign_facts(c)
    entities = []
    for f in c.forms.values():
        spec = f.settings.get("entity")
        if spec and spec["source"] == c.data.get("eligible_groups"):
            # One prefilled form per group on the notice's list (辽宁: the 14 groups).
            entities = [{"id": row["id"], "name": row["name"], "lead": "、".join(row.get("lead_schools", [])),
                         "download_url": f"/campaigns/{c.id}/forms/{f.id}/download?entity={row['id']}"}
                        for row in catalog().entities(spec["source"])]
    facts["groups"] = entities
    return page("schools/campaign.html", facts)


@bp.get("/campaigns/<campaign_id>/forms/<form_id>/download")
def download(campaign_id: str, form_id: str):
    """The blank form, or prefilled for one unit of the reference list (?entity=ln-08)."""
    _form_or_404(campaign_id, form_id)
    try:
        done = render(campaign_id, form_id, None, request.args.get("entity") or None)
    except LookupError:
        abort(404)
    return _send(done)


def _send(done):
    return send_download(done.content, done.filename, done.media_type)


# ---- the web form -----------------------------------------------------------------------------------------


def widget(field_: Field) -> str:
    if field_.enum:
        return "radio" if len(field_.enum) <= 4 and not field_.array else "select"
    if field_.type == "integer":
        return "number"
    if field_.type == "lines" or is_narrative(field_):
        return "textarea"
    if field_.format == "date":
        return "date"
    if field_.format == "email":
        return "email"
    return "text"


def _field_spec(field_: Field, value: Any, errors: dict[str, list[str]], name: str) -> dict[str, Any]:
    shown = "\n".join(value) if isinstance(value, list) else ("" if value is None else str(value))
    # The control's id ("f-" + its input name): its <label for>, and the anchor the error summary links to.
    control = "f-" + name.replace(".", "-")
    kind = widget(field_)
    return {"name": name, "key": name, "path": field_.path, "title": field_.title, "description": field_.description,
            "required": field_.required, "widget": kind, "options": list(field_.enum), "value": shown,
            "max_length": field_.max_length, "lines": field_.type == "lines",
            "placeholder": "如 2015-06" if field_.format == "month" else "",
            "id": control, "target": _radio(control, list(field_.enum), shown) if kind == "radio" else control, "where": "",
            "errors": errors.get(name, [])}


def _radio(control: str, options: list, value: str) -> str:
    """The id of the radio button that takes the focus in its group: the chosen one, else the first."""
    return f"{control}-{options.index(value) + 1 if value in options else 1}"


def _error_summary(fields: list[dict], tables: list[dict], errors: dict[str, list[str]]) -> list[dict[str, str]]:
    """Every error in the order of the form, each with the id of the control it is about (the summary links
    there); an error about no single control (a table as a whole, a rule across fields) links to its table or
    to nothing."""
    items, seen = [], set()
    for spec in [*fields, *(cell for t in tables for row in t["rows"] for cell in row)]:
        seen.add(spec["key"])
        items += [{"target": spec["target"], "where": spec["where"], "message": m} for m in spec["errors"]]
    for key, messages in errors.items():
        if key in seen:
            continue
        table = next((t for t in tables if key.split(".")[0] == t["array"]), None)
        items += [{"target": f"table-{table['array']}" if table else "", "where": table["title"] if table else "",
                   "message": m} for m in messages]
    return items


def _uncertain(field_: Field, n: Normalized) -> str:
    """Why a typed value cannot be taken as it is, worded as the report of a returned file words it."""
    return problem(n.flag, variant=n.variant, title=field_.title, **n.details).message


def read_form(form: Form, data) -> tuple[dict[str, Any], dict[str, list[str]], dict[str, int]]:
    """The record from the posted fields, normalized the way the parser normalizes what people type."""
    record: dict[str, Any] = {}
    problems: dict[str, list[str]] = {}
    counts: dict[str, int] = {}
    for field_ in form.fields:
        if field_.array:
            continue
        raw = data.get(field_.path, "")
        if not raw.strip():
            continue
        n = normalize(field_, raw)
        if n.flag:
            problems.setdefault(field_.path, []).append(_uncertain(field_, n))
        elif n.value is not None:
            record[field_.path] = n.value
    for array, columns in arrays(form.fields).items():
        count = str(data.get(f"{array}-count", "") or "")
        rows = min(MAX_ROWS, int(count)) if count.isascii() and count.isdigit() else 0
        items = []
        for i in range(rows):
            item: dict[str, Any] = {}
            for field_ in columns:
                raw = data.get(f"{array}-{i}-{field_.key}", "")
                if not raw.strip():
                    continue
                n = normalize(field_, raw)
                if n.flag:
                    problems.setdefault(f"{array}.{len(items)}.{field_.key}", []).append(_uncertain(field_, n))
                elif n.value is not None:
                    item[field_.key] = n.value
            if item:
                items.append(item)
        counts[array] = rows
        if items:
            record[array] = items
    return record, problems, counts


def _view(form: Form, record: dict, errors: dict[str, list[str]], counts: dict[str, int], missing: list[str]):
    groups = arrays(form.fields)
    # A value that could not be read stays in its box as typed, next to its error, for the person to correct.
    fields = [_field_spec(f, record.get(f.path, request.form.get(f.path)), errors, f.path)
              for f in form.fields if not f.array]
    tables = []
    for array, columns in groups.items():
        items = record.get(array, [])
        title = form.schema["properties"][array].get("title", array)
        least = form.schema["properties"][array].get("minItems", 0)
        n = max(counts.get(array, 0), len(items), form.settings.get("blank_rows", {}).get(array, 3), 1)
        added = request.form.get("add_row") == array
        if added:
            n += 1
        rows = [[_field_spec(f, (items[i] if i < len(items) else {}).get(f.key), errors, f"{array}.{i}.{f.key}")
                 | {"name": f"{array}-{i}-{f.key}", "where": f"{title}第{i + 1}行",
                    "required": f.required and i < least,
                    "autofocus": added and i == n - 1 and f is columns[0]} for f in columns] for i in range(n)]
        tables.append({"array": array, "title": title,
                       "columns": [{"title": f.title, "required": f.required} for f in columns], "rows": rows,
                       "count": n})
    return {"campaign": form.campaign_id, "form": form.id, "title": form.title, "annex": form.annex,
            "fields": fields, "tables": tables, "errors": errors, "missing": missing,
            "error_summary": _error_summary(fields, tables, errors)}


@bp.route("/campaigns/<campaign_id>/forms/<form_id>/fill", methods=["GET", "POST"])
def fill(campaign_id: str, form_id: str):
    """A form to fill in the browser; a valid submission downloads the prefilled document."""
    form = _form_or_404(campaign_id, form_id)
    record: dict[str, Any] = {}
    if request.method == "GET" and request.args.get("entity"):
        try:
            record = prefill(catalog(), form, request.args["entity"])
        except LookupError:
            abort(404)
    if request.method == "GET":
        return page("schools/fill.html", _view(form, record, {}, {}, []))
    record, errors, counts = read_form(form, request.form)
    missing: list[str] = []
    for wrong in check_record(form, record):
        if wrong.code == "FIELD_REQUIRED":
            missing.append(wrong.title)
            continue
        errors.setdefault(wrong.path, []).append(wrong.message)
    # The campaign's rules too (first-batch groups, 推荐排序, member sums, the 14 Liaoning groups …), as the
    # platform will apply them to the returned file; the deadline is not this page's business.
    checked = ParseResult(file="web", campaign=campaign_id, form=form_id, record=record)
    document_rules(checked, form, catalog(), BEFORE_ANY_DEADLINE)
    for wrong in checked.errors:
        errors.setdefault(wrong.path or "", []).append(wrong.message)
    if request.form.get("add_row"):  # only a new row: the errors wait for the form's own submit
        return page("schools/fill.html", _view(form, record, {}, counts, []))
    if errors:
        return page("schools/fill.html", _view(form, record, errors, counts, missing), 422)
    done = render(campaign_id, form_id, record)
    return _send(done)
