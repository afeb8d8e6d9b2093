"""Log in and out, who is asking, and who may see what.

Passwords are checked against their scrypt hashes; failed attempts are counted in the audit log per user name and
address, so the limit holds across worker processes: five failures in fifteen minutes lock that pair for the rest
of the window.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, request, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from service.forms.catalog import catalog
from service.store import store_for
from service.store.audit import audit
from service.store.auth import MIN_PASSWORD, check_password, password_problem, set_password
from service.store.models import AuditEntry, User, utcnow
from service.web.pages import page

bp = Blueprint("auth", __name__)
MAX_FAILURES = 5
WINDOW = dt.timedelta(minutes=15)
ROLE_LABELS = {"admin": "平台管理员", "recommender": "推荐单位", "school": "学校"}


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名"), Length(max=80)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码"), Length(max=200)])


class PasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请填写当前密码"), Length(max=200)])
    new = PasswordField("新密码", validators=[DataRequired("请填写新密码"), Length(max=200)])
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码"),
                                                       EqualTo("new", "两次输入的新密码不一致")])


def load_user() -> None:
    g.user = None
    uid = session.get("uid")
    if uid is not None:
        with store_for(current_app).session() as s:
            user = s.get(User, uid)
            if user is not None and session.get("pw") == user.password_hash[-16:]:
                s.expunge(user)
                g.user = user


def entity_name(entity_id: str | None) -> str:
    if not entity_id:
        return ""
    for source in ("recommenders", "liaoning_groups"):
        for row in catalog().entities(source):
            if row.get("id") == entity_id:
                return row["name"]
    return entity_id


def template_context() -> dict[str, Any]:
    user = g.get("user")
    return {"current_user": user, "role_label": ROLE_LABELS.get(user.role, "") if user else "",
            "user_entity_name": entity_name(user.entity_id) if user else ""}


def login_required(*roles: str) -> Callable:
    """Only logged-in users with one of ``roles`` (any role when none given); others get 401/403."""
    def wrap(view: Callable) -> Callable:
        @functools.wraps(view)
        def inner(*args: Any, **kwargs: Any):
            if g.get("user") is None:
                if request.method == "GET" and not request.args.get("format") == "json":
                    return redirect(url_for("auth.login", next=request.full_path))
                abort(401)
            if roles and g.user.role not in roles:
                abort(403)
            return view(*args, **kwargs)
        return inner
    return wrap


def _recent_failures(username: str, address: str) -> int:
    since = utcnow() - WINDOW
    with store_for(current_app).session() as s:
        return s.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "login_failed", AuditEntry.target == f"{username}@{address}",
            AuditEntry.at >= since)) or 0


def _locked(username: str, address: str) -> bool:
    return _recent_failures(username, address) >= MAX_FAILURES


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
        if _locked(username, address):
            error, status = "登录失败次数过多，请 15 分钟后再试。", 429
        else:
            with store.session.begin() as s:
                user = _verified(s, username, form.password.data, address)
                if user is None:
                    error, status = "用户名或密码不正确。", 401
                else:
                    audit(s, username, "login", f"user:{user.id}", address=address)
                    session.clear()
                    session.permanent = True
                    session["uid"], session["pw"] = user.id, user.password_hash[-16:]
                    target = request.args.get("next") or ""
                    if not target.startswith("/") or target.startswith("//"):
                        target = ""
                    default = {"admin": "admin.dashboard", "recommender": "recommender.dashboard"}.get(
                        user.role, "schools.index")
                    flash(f"欢迎，{user.display_name}。")
                    return redirect(target or url_for(default))
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
        if _locked(username, address):
            error, status = "密码错误次数过多，请 15 分钟后再试。", 429
        else:
            with store.session.begin() as s:
                user = _verified(s, username, form.current.data, address, during="password_change")
                problem = password_problem(username, form.new.data)
                if user is None:
                    error, status = "当前密码不正确。", 400
                elif problem:
                    error, status = problem, 400
                else:
                    set_password(s, user, form.new.data)
                    s.flush()
                    audit(s, username, "password_change", f"user:{user.id}", address=address)
                    session["pw"] = user.password_hash[-16:]
                    flash("密码已修改；该账号在其他地方的登录已失效。")
                    return redirect(url_for("auth.change_password"))
    elif request.method == "POST":
        error, status = next(iter(e for errors in form.errors.values() for e in errors), "请完整填写。"), 400
    return page("password.html", {"error": error, "min_length": MIN_PASSWORD}, status, form=form)


@bp.post("/logout")
def logout():
    session.clear()
    flash("已退出登录。")
    return redirect(url_for("schools.index"))
