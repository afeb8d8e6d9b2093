"""``flask users …``: platform accounts (create, the first admin, password resets)."""

from __future__ import annotations

import getpass

import click
from flask import current_app
from flask.cli import with_appcontext

from service.forms.catalog import catalog
from service.store import store_for
from service.store.audit import audit
from service.store.auth import create_user, password_problem, set_password
from service.store.models import User

users = click.Group("users", help="平台账号。")


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "recommender", "school"]), required=True)
@click.option("--entity", help="推荐单位账号所代表的单位编号（如 edu-ln、city-dl、ln-08）")
@click.option("--name", "display_name", default="", help="显示名称")
@click.option("--password", help="密码（不填则交互输入）")
@with_appcontext
def users_create(username: str, role: str, entity: str | None, display_name: str, password: str | None) -> None:
    """创建账号。"""
    if entity:
        known = {row.get("id") for src in ("recommenders", "liaoning_groups") for row in catalog().entities(src)}
        if entity not in known:
            raise click.ClickException(f"名单中没有单位编号 {entity}")
    password = password or getpass.getpass("密码：")
    problem = password_problem(username, password)
    if problem:
        raise click.ClickException(problem)
    store = store_for(current_app)
    try:
        with store.session.begin() as s:
            create_user(s, username, password, role, entity, display_name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已创建账号 {username}（{role}{'，' + entity if entity else ''}）")


@users.command("ensure-admin")
@click.option("--username", default="admin", show_default=True)
@with_appcontext
def users_ensure_admin(username: str) -> None:
    """没有管理员时创建一个，并只显示这一次它的随机初始密码。"""
    import secrets

    store = store_for(current_app)
    with store.session.begin() as s:
        if s.query(User).filter_by(role="admin").first() is not None:
            click.echo("已有管理员账号；如忘记密码，请用 flask --app wsgi users set-password 用户名 重设。")
            return
        password = secrets.token_urlsafe(12)
        create_user(s, username, password, "admin", None, "平台管理员")
    click.echo(f"已创建管理员账号：{username}  初始密码：{password}（只显示这一次，请登录后妥善保管）")


@users.command("set-password")
@click.argument("username")
@click.option("--password", help="新密码（不填则生成随机密码并只显示这一次）")
@click.option("--revoke-tokens", is_flag=True, help="同时吊销该账号的全部 API 令牌")
@with_appcontext
def users_set_password(username: str, password: str | None, revoke_tokens: bool) -> None:
    """重设账号密码（忘记密码时由管理员执行）；该账号已登录的会话随即失效。"""
    import secrets

    generated = password is None
    password = password or secrets.token_urlsafe(12)
    store = store_for(current_app)
    with store.session.begin() as s:
        user = s.query(User).filter_by(username=username).one_or_none()
        if user is None:
            raise click.ClickException(f"没有账号 {username}")
        try:
            set_password(s, user, password, revoke_tokens=revoke_tokens)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        audit(s, "cli", "password_reset", f"user:{user.id}", username=username, tokens_revoked=revoke_tokens)
    click.echo(f"已重设 {username} 的密码" + (f"：{password}（只显示这一次）" if generated else "。"))
