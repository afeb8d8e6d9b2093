"""Log in and out, who is asking, and who may see what.

A signed-in browser holds a random session id (in Flask's signed cookie) whose hash is a row of the store: logging
out or changing the password ends it on the server, so a copied cookie stops working too.

Wrong passwords are counted in the audit log per user name and client address (so the count holds across worker
processes). After five in fifteen minutes each further attempt from that address waits longer — 2 s, 4 s, 8 s …
up to 15 minutes — instead of a hard lock that anyone could use to shut a known user out; and a browser that signed
in to the account before is never made to wait.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, request, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from service.forms.catalog import catalog
from service.store import store_for
from service.store.audit import audit
from service.store.auth import (
    MIN_PASSWORD,
    check_password,
    end_session,
    password_problem,
    session_user,
    set_password,
    start_session,
    trust_browser,
    trusted,
)
from service.store.models import AuditEntry, User, utcnow
from service.web.pages import local_target, page

bp = Blueprint("auth", __name__)
MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=15)
FIRST_DELAY = dt.timedelta(seconds=2)
BROWSER_COOKIE = "jth_browser"  # the trusted-browser secrets of up to five accounts, "."-separated
BROWSER_COOKIE_DAYS = 400
ROLE_LABELS = {"admin": "平台管理员", "recommender": "推荐单位", "school": "学校"}


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=80)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码"), Length(max=200)])


class PasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请填写当前密码"), Length(max=200)])
    new = PasswordField("新密码", validators=[DataRequired("请填写新密码"), Length(max=200)])
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码"),
                                                       EqualTo("new", "两次输入的新密码不一致")])
    revoke_tokens = BooleanField("同时吊销本账号的全部 API 令牌（怀疑密码泄露时请勾选）")


def load_user() -> None:
    g.user = None
    sid = session.get("sid")
    if sid:
        with store_for(current_app).session() as s:
            user = session_user(s, sid)
            if user is not None:
                s.expunge(user)
                g.user = user


def entity_name(entity_id: str | None) -> str:
    if not entity_id:
        return ""
    found = catalog().unit(entity_id)  # on any list a campaign names
    return found[1]["name"] if found else entity_id


def template_context() -> dict[str, Any]:
    user = g.get("user")
    return {"current_user": user, "role_label": role_label(user) if user else "",
            "user_entity_name": entity_name(user.entity_id) if user else "",
            # The footer's 依据: each campaign's notice as its data names it (texts.basis, else its 文号).
            "campaign_basis": "、".join(dict.fromkeys(c.basis for c in catalog().campaigns.values() if c.basis))}


def role_label(user: User) -> str:
    """The role as the campaigns' data name it: a unit is the 推荐单位 of jth-2020 or the 报送单位 of ln-2018, and
    also 主管部门 where a campaign names it as a supervisor."""
    if user.role != "recommender":
        return ROLE_LABELS.get(user.role, "")
    cat = catalog()
    labels = [c.data.get("submitter_label", "报送单位") for c in cat.campaigns.values()
              if any(row.get("id") == user.entity_id for row in cat.entities(c.data.get("submitters", "")))]
    labels += [row.get("label", "主管部门") for c in cat.campaigns.values() for row in c.data.get("supervisors", [])
               if row["unit"] == user.entity_id]
    return "、".join(dict.fromkeys(labels)) or ROLE_LABELS["recommender"]


PASSWORD_PAGES = ("auth.change_password", "auth.logout", "static")


def login_required(*roles: str) -> Callable:
    """Only logged-in users with one of ``roles`` (any role when none given); others get 401/403."""
    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any):
            if g.get("user") is None:
                if request.method == "GET" and not request.args.get("format") == "json":
                    return redirect(url_for("auth.login", next=request.full_path))
                abort(401)
            if g.user.must_change_password and request.endpoint not in PASSWORD_PAGES:
                # A one-time password (the first administrator's too) opens nothing but the change of itself.
                if request.method == "GET":
                    flash("您正在使用一次性密码：请先设置自己的新密码。")
                    return redirect(url_for("auth.change_password"))
                abort(403)
            if roles and g.user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def _wait(username: str, address: str, *, trust: bool = True) -> int:
    """Seconds this address must still wait before trying ``username`` again (0: go ahead).

    ``trust``: a browser that signed in to the account before does not wait (at login). A password change does
    not trust it: whoever sits at a signed-in browser must not be able to try one current password after another.
    """
    since = utcnow() - WINDOW
    with store_for(current_app).session() as s:
        unlocked = s.scalar(select(func.max(AuditEntry.at)).where(AuditEntry.action == "unlock",
                                                                  AuditEntry.target == f"user:{username}"))
        if unlocked is not None:  # staff unlocked the account: earlier failures no longer count
            unlocked = unlocked if unlocked.tzinfo else unlocked.replace(tzinfo=dt.UTC)
            since = max(since, unlocked)
        count, last = s.execute(select(func.count(), func.max(AuditEntry.at)).where(
            AuditEntry.action == "login_failed", AuditEntry.target == f"{username}@{address}",
            AuditEntry.at >= since)).one()
        if count < MAX_FAILURES or trust and any(trusted(s, username, token) for token in _browser_tokens()):
            return 0
    delay = min(FIRST_DELAY * 2 ** (count - MAX_FAILURES), WINDOW)
    last = last if last.tzinfo else last.replace(tzinfo=dt.UTC)
    return max(0, int((last + delay - utcnow()).total_seconds() + 0.999))


def _browser_tokens() -> list[str]:
    return [t for t in (request.cookies.get(BROWSER_COOKIE) or "").split(".") if t][:5]


def _busy(wait: int) -> str:
    return f"密码错误次数过多，请 {wait} 秒后再试（已登录过本账号的浏览器不受限制）。"


def _verified(s, username: str, password: str, address: str, **detail: Any) -> User | None:
    """The user when the password is right; a wrong one is written down, and counts toward the lock."""
    user = check_password(s, username, password)
    if user is None:
        audit(s, username, "login_failed", f"{username}@{address}", **detail)
    return user


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    error, status = "", 200
    if form.validate_on_submit():
        username, address = form.username.data.strip(), request.remote_addr or "-"
        store = store_for(current_app)
        wait = _wait(username, address)
        if wait:
            error, status = _busy(wait), 429
        else:
            with store.session.begin() as s:
                user = _verified(s, username, form.password.data, address)
                if user is None:
                    error, status = "用户名或密码不正确。", 401
                else:
                    audit(s, username, "login", f"user:{user.id}", address=address)
                    user.last_login_at = utcnow()
                    session.clear()
                    session.permanent = True
                    session["sid"] = start_session(s, user, address)
                    known = [t for t in _browser_tokens() if trusted(s, username, t)]
                    tokens = _browser_tokens() if known else [trust_browser(s, user), *_browser_tokens()][:5]
                    default = {"admin": "admin.dashboard", "recommender": "recommender.dashboard"}.get(
                        user.role, "schools.index")
                    flash(f"欢迎，{user.display_name}。")
                    target = local_target(request.args.get("next")) or url_for(default)
                    if user.must_change_password:
                        flash("您正在使用一次性密码：请先设置自己的新密码。")
                        target = url_for("auth.change_password")
                    response = make_response(redirect(target))
                    response.set_cookie(BROWSER_COOKIE, ".".join(tokens), max_age=BROWSER_COOKIE_DAYS * 86400,
                                        httponly=True, samesite="Lax",
                                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
                    return response
    elif request.method == "POST":
        error, status = "请填写用户名和密码。", 400
    return page("login.html", {"error": error}, status, form=form)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required()
def change_password():
    """Change one's own password: this session stays, every other session of the account ends."""
    form = PasswordForm()
    error, status = "", 200
    if form.validate_on_submit():
        address = request.remote_addr or "-"
        username = g.user.username
        store = store_for(current_app)
        wait = _wait(username, address, trust=False)
        if wait:
            error, status = _busy(wait), 429
        else:
            with store.session.begin() as s:
                user = _verified(s, username, form.current.data, address, during="password_change")
                problem = password_problem(username, form.new.data)
                if user is None:
                    error, status = "当前密码不正确。", 400
                elif problem:
                    error, status = problem, 400
                else:
                    revoke = bool(form.revoke_tokens.data)
                    set_password(s, user, form.new.data, revoke_tokens=revoke)
                    user.must_change_password = False
                    session["sid"] = start_session(s, user, address)
                    audit(s, username, "password_change", f"user:{user.id}", address=address, tokens_revoked=revoke)
                    flash("密码已修改；该账号在其他地方的登录已失效" + ("，API 令牌已全部吊销。" if revoke else "。"))
                    return redirect(url_for("auth.change_password"))
    elif request.method == "POST":
        error, status = next(iter(e for errors in form.errors.values() for e in errors), "请完整填写。"), 400
    return page("password.html", {"error": error, "min_length": MIN_PASSWORD}, status, form=form)


@bp.post("/logout")
def logout():
    """End this browser's session on the server (a copy of its cookie dies too), then forget it here."""
    with store_for(current_app).session.begin() as s:
        end_session(s, session.get("sid"))
    session.clear()
    flash("已退出登录。")
    return redirect(url_for("schools.index"))
