"""Error pages in Chinese for the web (the API answers its own errors as JSON, see :mod:`service.api`).

Werkzeug's pages are English; a teacher who uploads a 60 MB scan must read why it was refused. A message
passed to ``abort`` is shown when it is Chinese; otherwise the status's own text. Unexpected errors are logged
with a reference that the page shows, never the traceback.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import current_app, g, make_response
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from service.web.auth import load_user
from service.web.pages import page

log = logging.getLogger(__name__)
_CJK = re.compile(r"[\u4e00-\u9fff]")

TITLES = {
    400: ("请求有误", "提交的内容不完整或格式不正确，请返回上一页检查后重试。"),
    401: ("需要登录", "请先登录后再访问此页面。"),
    403: ("没有权限", "当前账号没有权限访问此页面；如需访问，请联系平台管理员。"),
    404: ("页面不存在", "找不到该页面或该材料，请核对地址，或从首页重新进入。"),
    405: ("操作方式不正确", "此页面不支持这种操作，请从页面上的按钮进入。"),
    409: ("暂时无法完成", "该材料当前的状态不允许此操作，请查看报告中的说明。"),
    413: ("文件过大", "一次上传的文件合计不能超过 {limit} MB。请压缩图片（如扫描件改用 200 dpi）或分批上传。"),
    429: ("操作过于频繁", "请稍后再试。"),
    500: ("服务器内部错误", "服务器处理时出错，已记录（错误编号 {reference}）。请稍后重试；如问题持续，请把错误编号告知平台管理员。"),
}


def _signed_in() -> None:
    """Who is signed in, for the page's header (name, 退出): an error raised before the request's own hooks ran
    (a body over the size limit or a missing CSRF token is refused while the form is read) has not looked yet."""
    if "user" in g:
        return
    try:
        load_user()
    except Exception:  # the store may be what failed: the page still answers, signed out
        log.warning("could not load the signed-in user for an error page", exc_info=True)
        g.user = None


def _answer(status: int, message: str, reference: str = ""):
    _signed_in()
    title, default = TITLES.get(status, ("请求未能完成", "请返回上一页重试。"))
    limit = (current_app.config.get("MAX_CONTENT_LENGTH") or 0) // (1024 * 1024)
    text = message or default.format(limit=limit, reference=reference)
    data = {"error": {"status": status, "title": title, "message": text, **({"reference": reference} if reference else {})}}
    return page("error.html", data, status)


def web_error(exc: HTTPException):
    """An HTTP error on a page: its Chinese message when ``abort`` gave one, else the status's own."""
    status = exc.code or 500
    if isinstance(exc, CSRFError):
        return _answer(400, "页面已过期或缺少安全校验码（可能是打开太久），请刷新页面后重新提交。")
    description = exc.description if isinstance(exc.description, str) and _CJK.search(exc.description) else ""
    response = make_response(_answer(status, description))
    for key, value in exc.get_headers():  # Allow, Retry-After …
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


def web_unexpected(exc: Exception):
    """Anything else on a page: logged with a reference, answered with a Chinese 500 page."""
    if current_app.testing or current_app.debug:
        raise exc
    reference = uuid.uuid4().hex[:12]
    log.exception("unhandled error %s", reference)
    return _answer(500, "", reference)
