"""Notices for the signed-in person (their list, marking read, the unread count in every page's header) and, for
staff, the settings page that says whether e-mail is sent and which sends wait or failed."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for

from service.actions.intake import IntakeError
from service.actions.notices import mark_read, notices_for, outbox, retry_failed, unread_count
from service.jobs.mail import MAX_ATTEMPTS, mail_settings
from service.problems.catalogue import message
from service.store import store_for
from service.web.auth import login_required
from service.web.pages import local_target, page
from service.web.recommender import actor

bp = Blueprint("notices", __name__)
MAIL_STATES = {"pending": "待发送", "sending": "发送中", "failed": "发送失败", "sent": "已发送", "": "仅平台内"}


@bp.app_context_processor
def unread_notices() -> dict[str, Any]:
    """``unread_notices``: the signed-in person's unread count, for the header of every page."""
    user = g.get("user")
    if user is None:
        return {"unread_notices": 0}
    return {"unread_notices": unread_count(store_for(current_app), user.id)}


@bp.get("/notices")
@login_required()
def index():
    """The signed-in person's notices, newest first, unread ones marked."""
    items = notices_for(store_for(current_app), g.user.id)
    for item in items:
        item["mail_label"] = MAIL_STATES.get(item["mail_state"], item["mail_state"])
    return page("notices/index.html", {"notices": items, "unread": sum(1 for n in items if not n["read"])})


@bp.post("/notices/read")
@login_required()
def read():
    """Mark one notice read (``id``), or all of them; then back to the list (or to the notice's page, ``next``)."""
    raw = request.form.get("id", "")
    notice_id = int(raw) if raw.isascii() and raw.isdigit() else None
    if raw and notice_id is None:
        abort(400)
    try:
        changed = mark_read(store_for(current_app), g.user.id, notice_id)
    except IntakeError:
        abort(404)
    if notice_id is None:
        flash(f"已将 {changed} 条通知标为已读。")
    return redirect(local_target(request.form.get("next")) or url_for("notices.index"), 303)


def _mail_setup() -> dict[str, Any]:
    settings = mail_settings(current_app.config)
    if settings is None:
        return {"configured": False, "message": message("MAIL_NOT_CONFIGURED")}
    security = "SMTPS（TLS）" if settings.tls else "STARTTLS" if settings.starttls else "不加密"
    return {"configured": True, "server": settings.server, "port": settings.port, "sender": settings.sender,
            "security": security, "login": bool(settings.username), "public_url": settings.public_url}


@bp.get("/admin/settings")
@login_required("admin")
def settings():
    """Whether e-mail is sent (the mail server, never its password) and the outbox: sends waiting or failed."""
    box = outbox(store_for(current_app))
    for send in box["sends"]:
        send["state_label"] = MAIL_STATES.get(send["state"], send["state"])
    return page("admin/settings.html", {"mail": _mail_setup(), **box, "max_attempts": MAX_ATTEMPTS})


@bp.post("/admin/settings/retry")
@login_required("admin")
def retry():
    """Every failed e-mail tried again at the sender's next round."""
    count = retry_failed(store_for(current_app), actor())
    flash(f"已安排重试 {count} 封发送失败的邮件。")
    return redirect(url_for("notices.settings"), 303)
