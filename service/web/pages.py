"""One response for two readers: the HTML page, or its data as JSON at the same URL."""

from __future__ import annotations

import datetime as dt
from io import BytesIO
from typing import Any
from urllib.parse import urlsplit

from flask import jsonify, render_template, request, send_file


def wants_json() -> bool:
    if request.args.get("format") == "json":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def page(template: str, data: dict[str, Any], status: int = 200, **html_only: Any):
    """Render ``template`` with ``data`` (plus ``html_only`` extras), or return ``data`` as JSON."""
    if wants_json():
        return jsonify(data), status
    return render_template(template, **data, **html_only), status


def local_target(target: str | None) -> str:
    """``target`` if it is a path on this site, else "": the one check for every redirect a request asks for.

    Browsers drop tabs and line breaks from a URL and read a backslash as a slash, so "/\t/evil.example" and
    "/\\evil.example" lead off the site although they start with one slash: any such character refuses the target.
    """
    if not target or not target.startswith("/") or any(c.isspace() or ord(c) < 32 or c in "\\\x7f" for c in target):
        return ""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or target.startswith("//"):
        return ""
    return target


def send_download(content: bytes, name: str, mimetype: str = "application/octet-stream"):
    """A file to save; werkzeug writes the Chinese name as ``filename*=UTF-8''…`` beside an ASCII fallback."""
    return send_file(BytesIO(content), mimetype=mimetype, as_attachment=True, download_name=name)


BEIJING = dt.timezone(dt.timedelta(hours=8), "北京时间")


def beijing_time(value: Any) -> str:
    """A stored time (UTC, ISO text or datetime) as people here read it: 2020-11-20 17:02 in Beijing time.

    The JSON keeps ISO 8601 with its offset; only the page shows this form.
    """
    if value in (None, ""):
        return ""
    moment = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # stored times are UTC
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
