"""The API's error contract: every answer under ``/api/`` that is not a success is
``{"error": {"code": ..., "message": ...}}`` with a stable code and a Chinese message that says what to do.

:class:`ApiError` is what a route raises; :func:`jsonify_error` builds the answer; :data:`HTTP_ERRORS` gives the
errors Flask and Werkzeug raise themselves their codes and messages. The handlers that use them are registered
in :mod:`service.api`; the OpenAPI document lists the codes from here.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, jsonify


class ApiError(Exception):
    """A refusal with a stable code and a Chinese message; raised anywhere in an API view, answered as JSON
    ``{"error": {"code", "message", ...extra}}`` by the handler in :mod:`service.api`."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(code, message)
        self.status, self.code, self.message, self.headers, self.extra = status, code, message, headers or {}, extra


def jsonify_error(status: int, code: str, message: str, **extra: Any) -> Response:
    """The API's error answer: ``{"error": {"code", "message", ...extra}}`` with ``status``."""
    response = jsonify(error={"code": code, "message": message, **extra})
    response.status_code = status
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


def http_message(code: int) -> tuple[str, str]:
    """The stable code and the Chinese message of an HTTP status (413 names the app's upload limit)."""
    name, message = HTTP_ERRORS.get(code, (f"HTTP_{code}", "请求未能完成。"))
    if code == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH") or 0
        message = message.format(limit=limit // (1024 * 1024))
    return name, message
