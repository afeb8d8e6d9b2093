"""The public part of the API, open without a token: campaigns and their forms, each form's JSON Schema and
template, and a form rendered from a JSON record (partial records allowed; invalid values refused, each with
its field path and Chinese title, before anything is rendered).
"""

from __future__ import annotations

import re
from dataclasses import asdict
from io import BytesIO

from flask import Blueprint, Response, jsonify, request, send_file

from service.api.errors import ApiError
from service.api.params import campaign_or_404
from service.forms.catalog import Form, catalog
from service.problems.catalogue import message
from service.render.form import render
from service.validate.schema import FieldProblem, check_record

bp = Blueprint("forms", __name__)


def _form_summary(campaign_id: str, form: Form) -> dict:
    return {
        "campaign": campaign_id,
        "form": form.id,
        "title": form.title,
        "annex": form.annex,
        "format": form.kind,
        "schema_version": form.version,
        "schema_url": f"/api/v1/campaigns/{campaign_id}/forms/{form.id}/schema",
        "template_url": f"/api/v1/campaigns/{campaign_id}/forms/{form.id}/template",
    }


@bp.get("/campaigns")
def campaigns():
    """Every campaign with its forms."""
    cat = catalog()
    return jsonify(
        [
            {**{k: c.data[k] for k in ("id", "title", "document_number", "issuer", "deadline")},
             "forms": [_form_summary(c.id, f) for f in c.forms.values()]}
            for c in cat.campaigns.values()
        ]
    )


@bp.get("/campaigns/<campaign_id>")
def campaign(campaign_id: str):
    """A campaign as defined by its notice."""
    c = campaign_or_404(campaign_id)
    return jsonify({**c.data, "forms": [_form_summary(c.id, f) for f in c.forms.values()]})


def _form_or_404(campaign_id: str, form_id: str) -> Form:
    campaign = campaign_or_404(campaign_id)
    if form_id not in campaign.forms:
        raise ApiError("FORM_NOT_FOUND", campaign=campaign.id, form=form_id, forms="、".join(campaign.forms))
    return campaign.forms[form_id]


def _entity_or_404(form: Form, entity_id: str | None) -> str | None:
    """The ``entity`` to prefill from, when the form prefills from a reference list that has it."""
    if entity_id is None:
        return None
    spec = form.settings.get("entity")
    if not spec:
        raise ApiError("ENTITY_NOT_FOUND", "no_prefill", form=form.id)
    if not any(row.get("id") == entity_id for row in catalog().entities(spec["source"])):
        raise ApiError("ENTITY_NOT_FOUND", source=spec["source"], entity=entity_id)
    return entity_id


@bp.get("/campaigns/<campaign_id>/forms/<form_id>/schema")
def schema(campaign_id: str, form_id: str):
    """The form's JSON Schema."""
    return jsonify(_form_or_404(campaign_id, form_id).schema)


#: Characters no Word or Excel file can hold (XML 1.0 forbids them): C0 controls other than tab/LF/CR, lone
#: surrogates and the two non-characters U+FFFE/U+FFFF.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def unwritable_text(form: Form, record: dict) -> list[FieldProblem]:
    """Values with characters a document cannot contain, refused like schema problems instead of failing later."""
    out: list[FieldProblem] = []

    def title(path: list) -> str:
        spec = form.schema.get("properties", {}).get(path[0], {})
        if len(path) >= 3 and isinstance(path[1], int):
            spec = spec.get("items", {}).get("properties", {}).get(path[2], spec)
        return spec.get("title", ".".join(map(str, path)))

    def walk(value, path: list) -> None:
        if isinstance(value, str):
            if _UNWRITABLE.search(value):
                name = title(path)
                out.append(FieldProblem(".".join(map(str, path)), name, "FIELD_CONTROL_CHAR",
                                        message("FIELD_CONTROL_CHAR", title=name)))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, key])
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, [*path, i])

    walk(record, [])
    return out


def _send(rendered) -> Response:
    return send_file(BytesIO(rendered.content), mimetype=rendered.media_type, as_attachment=True,
                     download_name=rendered.filename)


@bp.get("/campaigns/<campaign_id>/forms/<form_id>/template")
def template(campaign_id: str, form_id: str):
    """The blank form, or prefilled from reference data with ``?entity=ID``."""
    form = _form_or_404(campaign_id, form_id)
    entity_id = _entity_or_404(form, request.args.get("entity") or None)
    return _send(render(campaign_id, form_id, entity_id=entity_id))


@bp.post("/campaigns/<campaign_id>/forms/<form_id>/render")
def render_record(campaign_id: str, form_id: str):
    """The form prefilled from a JSON record (partial records allowed; invalid values are refused)."""
    form = _form_or_404(campaign_id, form_id)
    record = request.get_json(silent=True)
    if not isinstance(record, dict):
        raise ApiError("RECORD_NOT_JSON")
    problems = check_record(form, record, partial=True) + unwritable_text(form, record)
    if problems:
        raise ApiError("RECORD_INVALID", extra={"problems": [asdict(p) for p in problems]})
    entity_id = _entity_or_404(form, request.args.get("entity") or None)
    return _send(render(campaign_id, form_id, record, entity_id=entity_id))
