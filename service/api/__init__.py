"""Platform API (JSON) under ``/api/v1``.

This module holds the public part (campaigns, forms, templates, rendering from a record) and the error
contract of the whole API: every answer under ``/api/`` that is not a success is
``{"error": {"code": ..., "message": ...}}`` with a Chinese message, and no stack trace ever reaches a
client. The token-protected part (submissions, review, jobs, exports) is in :mod:`service.api.store_routes`, the
OpenAPI document in :mod:`service.api.openapi`; both attach their routes to :data:`bp`.
"""

from __future__ import annotations

import logging
import re
import uuid
from dataclasses import asdict
from io import BytesIO

from flask import Blueprint, abort, current_app, jsonify, request, send_file
from werkzeug.exceptions import HTTPException

from service.api.tokens import ApiError
from service.forms.catalog import catalog
from service.render.form import render
from service.validate.schema import FieldProblem, check_record

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger(__name__)


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
    """The API's error answer: ``{"error": {"code", "message", ...extra}}`` with ``status``."""
    response = jsonify(error={"code": code, "message": message, **extra})
    response.status_code = status
    return response


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    response = jsonify_error(exc.status, exc.code, exc.message, **exc.extra)
    response.headers.update(exc.headers)
    return response


#: Stable codes and Chinese messages for the HTTP errors Flask and Werkzeug raise themselves.
HTTP_ERRORS = {
    400: ("BAD_REQUEST", "请求格式不正确，请检查参数和请求体后重试（接口说明见 /api/v1/openapi.json）。"),
    401: ("AUTH_REQUIRED", "需要身份认证：请在请求头中提供 Authorization: Bearer <API 令牌>。"),
    403: ("FORBIDDEN", "没有权限执行此操作。"),
    404: ("NOT_FOUND", "请求的地址不存在，请核对 URL（接口说明见 /api/v1/openapi.json）。"),
    405: ("METHOD_NOT_ALLOWED", "该地址不支持这种请求方法，请核对接口说明（/api/v1/openapi.json）。"),
    406: ("NOT_ACCEPTABLE", "无法按请求的格式返回结果。"),
    408: ("REQUEST_TIMEOUT", "请求超时，请重试。"),
    411: ("LENGTH_REQUIRED", "请求缺少 Content-Length，请重试。"),
    413: ("REQUEST_TOO_LARGE", "请求过大：一次上传的文件合计不能超过 {limit} MB。请压缩图片或分批上传。"),
    414: ("URI_TOO_LONG", "请求地址过长，请缩短查询参数。"),
    415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的请求体格式：上传文件请用 multipart/form-data，其余请用 application/json。"),
    429: ("TOO_MANY_REQUESTS", "请求过于频繁，请稍后再试。"),
    431: ("HEADERS_TOO_LARGE", "请求头过大。"),
    500: ("INTERNAL_ERROR", "服务器内部错误，已记录。请稍后重试；如问题持续，请把错误编号告知平台管理员。"),
    501: ("NOT_IMPLEMENTED", "该功能尚未启用。"),
    503: ("SERVICE_UNAVAILABLE", "服务暂时不可用，请稍后重试。"),
}


def _is_api_request() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def _http_message(code: int) -> tuple[str, str]:
    name, message = HTTP_ERRORS.get(code, (f"HTTP_{code}", "请求未能完成。"))
    if code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        message = message.format(limit=limit // (1024 * 1024))
    return name, message


@bp.app_errorhandler(HTTPException)
def _http_error(exc: HTTPException):
    """HTTP errors anywhere under /api/ as JSON; elsewhere a Chinese page (:mod:`service.web.errors`)."""
    if exc.code is None:
        return exc
    if not _is_api_request():
        from service.web.errors import web_error

        return web_error(exc)
    if exc.response is not None:  # abort(jsonify_error(...)) already built the answer
        return exc.response
    code, message = _http_message(exc.code)
    response = jsonify_error(exc.code, code, message)
    for key, value in exc.get_headers():
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


@bp.app_errorhandler(Exception)
def _unexpected_error(exc: Exception):
    """Any other exception under /api/: logged with a reference, answered with a generic JSON 500; on a page, a
    Chinese 500 page (re-raised in testing and debugging)."""
    if not _is_api_request():
        from service.web.errors import web_unexpected

        return web_unexpected(exc)
    reference = uuid.uuid4().hex[:12]
    log.exception("unhandled error %s on %s %s", reference, request.method, request.path)
    code, message = _http_message(500)
    return jsonify_error(500, code, message, reference=reference)


@bp.get("/campaigns/<campaign_id>/forms/<form_id>/schema")
def schema(campaign_id: str, form_id: str):
    """The form's JSON Schema."""
    return jsonify(_form_or_404(campaign_id, form_id).schema)


#: Characters no Word or Excel file can hold (XML 1.0 forbids them): C0 controls other than tab/LF/CR, lone
#: surrogates and the two non-characters U+FFFE/U+FFFF.
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def unwritable_text(form, record: dict) -> list[FieldProblem]:
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
                                        f"“{name}”含有文档中不能出现的控制字符，请删除后重试（常见于从网页或其他程序粘贴的文字）。"))
        elif isinstance(value, dict):
            for key, item in value.items():
                walk(item, [*path, key])
        elif isinstance(value, list):
            for i, item in enumerate(value):
                walk(item, [*path, i])

    walk(record, [])
    return out


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
    problems = check_record(form, record, partial=True) + unwritable_text(form, record)
    if problems:
        return jsonify_error(422, "RECORD_INVALID", "数据有误，请按提示修改后重试。",
                             problems=[asdict(p) for p in problems])
    try:
        rendered = render(campaign_id, form_id, record, entity_id=request.args.get("entity") or None)
    except LookupError as exc:
        return jsonify_error(404, "ENTITY_NOT_FOUND", str(exc))
    return _send(rendered)


# The token-protected API and the OpenAPI document attach their routes to ``bp`` (imported last on purpose).
from service.api import openapi, store_routes  # noqa: E402, F401
