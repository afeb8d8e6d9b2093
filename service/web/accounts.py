"""Staff pages for accounts: the list, one new account, every unit of a campaign at once (a sheet of one-time
passwords to hand out), a new one-time password, disable and enable, unlock. Each form calls its use case in
:mod:`service.actions.accounts`, which checks and audits."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, request, url_for

from service.actions import accounts as acc
from service.actions.intake import IntakeError
from service.forms.catalog import catalog
from service.outputs.accounts_sheet import accounts_sheet
from service.store import store_for
from service.web.auth import login_required
from service.web.pages import page, send_download
from service.web.recommender import actor

bp = Blueprint("accounts", __name__, url_prefix="/admin/accounts")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _page(issued: list[acc.Issued] | None = None, error: str = "", status: int = 200):
    cat = catalog()
    units = [{"id": r["id"], "name": r["name"], "source": source}
             for source in cat.unit_lists() for r in cat.entities(source) if r.get("id")]
    data = {"accounts": acc.accounts(store_for(current_app), actor()), "error": error,
            "issued": [i.to_dict() for i in issued or []], "units": units,
            "campaigns": [{"id": c.id, "title": c.title} for c in cat.campaigns.values()]}
    return page("admin/accounts.html", data, status)


@bp.get("/")
@login_required("admin")
def index():
    return _page()


@bp.post("/")
@login_required("admin")
def create():
    form = request.form
    try:
        issued = acc.create_account(store_for(current_app), actor(), form.get("username", ""), form.get("role", ""),
                                    form.get("entity") or None, form.get("display_name", ""), form.get("email", ""))
    except IntakeError as exc:
        return _page(error=exc.message, status=exc.http_status)
    return _page([issued])  # the one-time password is shown on this answer only


@bp.post("/campaign")
@login_required("admin")
def create_for_campaign():
    """Accounts for every unit of the campaign that has none; the answer is the sheet (made once)."""
    campaign_id = request.form.get("campaign", "")
    try:
        issued = acc.create_campaign_accounts(store_for(current_app), actor(), campaign_id)
    except IntakeError as exc:
        return _page(error=exc.message, status=exc.http_status)
    if not issued:
        flash("名单中的单位都已有账号，没有新建。")
        return redirect(url_for("accounts.index"), 303)
    sheet = accounts_sheet(issued, current_app.config.get("PUBLIC_URL", "") or request.host_url)
    return send_download(sheet, f"{campaign_id}-账号与一次性密码.xlsx", XLSX)


@bp.post("/<username>/<action>")
@login_required("admin")
def act(username: str, action: str):
    store = store_for(current_app)
    try:
        if action == "reset":
            return _page([acc.reset_password(store, actor(), username)])
        if action in ("disable", "enable"):
            acc.set_disabled(store, actor(), username, action == "disable")
            flash(f"已{'停用' if action == 'disable' else '启用'} {username}。")
        elif action == "unlock":
            acc.unlock(store, actor(), username)
            flash(f"已解锁 {username}：此前输错的密码不再影响登录。")
        elif action == "email":
            acc.update_email(store, actor(), username, request.form.get("email", ""))
            flash(f"已更新 {username} 的电子邮箱。")
        else:
            return _page(error="未知操作。", status=404)
    except IntakeError as exc:
        return _page(error=exc.message, status=exc.http_status)
    return redirect(url_for("accounts.index"), 303)
