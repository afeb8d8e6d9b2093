"""Platform API (JSON) for forms: list campaigns and forms, download templates, render from a record."""

from __future__ import annotations

from dataclasses import asdict
from io import BytesIO

from flask import Blueprint, abort, jsonify, request, send_file

from .core.catalog import catalog
from .core.record_check import check_record
from .core.render import render

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _form_summary(campaign_id: str, form) -> dict:
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
    try:
        c = catalog().campaign(campaign_id)
    except LookupError as exc:
        return jsonify(error={"code": "CAMPAIGN_NOT_FOUND", "message": str(exc)}), 404
    return jsonify({**c.data, "forms": [_form_summary(c.id, f) for f in c.forms.values()]})


def _form_or_404(campaign_id: str, form_id: str):
    try:
        return catalog().form(campaign_id, form_id)
    except LookupError as exc:
        abort(jsonify_error(404, "FORM_NOT_FOUND", str(exc)))


def jsonify_error(status: int, code: str, message: str, **extra):
    response = jsonify(error={"code": code, "message": message, **extra})
    response.status_code = status
    return response


@bp.get("/campaigns/<campaign_id>/forms/<form_id>/schema")
def schema(campaign_id: str, form_id: str):
    """The form's JSON Schema."""
    return jsonify(_form_or_404(campaign_id, form_id).schema)


def _send(rendered):
    return send_file(BytesIO(rendered.content), mimetype=rendered.media_type, as_attachment=True,
                     download_name=rendered.filename)


@bp.get("/campaigns/<campaign_id>/forms/<form_id>/template")
def template(campaign_id: str, form_id: str):
    """The blank form, or prefilled from reference data with ``?entity=ID``."""
    _form_or_404(campaign_id, form_id)
    try:
        rendered = render(campaign_id, form_id, entity_id=request.args.get("entity") or None)
    except LookupError as exc:
        return jsonify_error(404, "ENTITY_NOT_FOUND", str(exc))
    return _send(rendered)


@bp.post("/campaigns/<campaign_id>/forms/<form_id>/render")
def render_record(campaign_id: str, form_id: str):
    """The form prefilled from a JSON record (partial records allowed; invalid values are refused)."""
    form = _form_or_404(campaign_id, form_id)
    record = request.get_json(silent=True)
    if not isinstance(record, dict):
        return jsonify_error(400, "RECORD_NOT_JSON", "请求体应为 JSON 对象（字段名与表单的 JSON Schema 一致）。")
    problems = check_record(form, record, partial=True)
    if problems:
        return jsonify_error(422, "RECORD_INVALID", "数据有误，请按提示修改后重试。",
                             problems=[asdict(p) for p in problems])
    try:
        rendered = render(campaign_id, form_id, record, entity_id=request.args.get("entity") or None)
    except LookupError as exc:
        return jsonify_error(404, "ENTITY_NOT_FOUND", str(exc))
    return _send(rendered)
