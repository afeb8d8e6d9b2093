"""The staff's page of mail in (/admin/mail): the messages read from the mailbox, the files of each and their results,
the reply to the sender; a message whose sender's address belongs to no unit waits there until a staff member
chooses its unit, and its files are then received for that unit (:func:`service.jobs.mailin.assign`)."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for

from service.actions.intake import IntakeError
from service.actions.mail_assign import mail_rows, submitter_units
from service.jobs.mail import mail_settings
from service.jobs.mailin import assign, mailin_settings
from service.problems.catalogue import message
from service.store import store_for
from service.web.auth import login_required
from service.web.pages import page
from service.web.recommender import actor

bp = Blueprint("mailbox", __name__, url_prefix="/admin/mail")


def _page(error: str = "", status: int = 200):
    settings = mailin_settings(current_app.config)
    rows = mail_rows(store_for(current_app))
    data = {"mailbox": {"configured": settings is not None,
                        "address": f"{settings.user}（{settings.host}:{settings.port}，{settings.folder}）" if settings
                        else "", "message": "" if settings else message("MAIL_IN_NOT_CONFIGURED")},
            "replies": mail_settings(current_app.config) is not None,
            "messages": rows, "waiting": sum(1 for r in rows if r["state"] == "unassigned"),
            "units": [{"id": k, "name": v} for k, v in submitter_units().items()], "error": error}
    return page("admin/mail.html", data, status)


@bp.get("/")
@login_required("admin")
def index():
    return _page()


@bp.post("/<int:mail_id>/assign")
@login_required("admin")
def assign_unit(mail_id: int):
    unit = request.form.get("unit", "")
    try:
        assign(store_for(current_app), actor(), mail_id, unit, mail_settings(current_app.config))
    except IntakeError as exc:
        return _page(error=exc.message, status=exc.http_status)
    flash(f"第 {mail_id} 号邮件已指定单位，附件已作为该单位的报送材料处理。")
    return redirect(url_for("mailbox.index") + f"#mail-{mail_id}", 303)
