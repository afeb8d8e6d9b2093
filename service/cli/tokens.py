"""``flask tokens …``: API tokens (create one for an account, list, revoke). Only a token's sha256 is kept."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from service.store import store_for
from service.store.audit import audit
from service.store.auth import TOKEN_LIFETIME, create_token, revoke_token
from service.store.models import ApiToken, User, utcnow

tokens = click.Group("tokens", help="API 令牌。")


@tokens.command("create")
@click.argument("username")
@click.option("--name", default="", help="令牌用途说明")
@click.option("--days", default=TOKEN_LIFETIME.days, show_default=True, type=click.IntRange(1, 3650),
              help="有效天数，到期自动失效")
@with_appcontext
def tokens_create(username: str, name: str, days: int) -> None:
    """为账号生成 API 令牌（只显示这一次，平台只保存其摘要）；到期后失效。"""
    store = store_for(current_app)
    with store.session.begin() as s:
        user = s.query(User).filter_by(username=username).one_or_none()
        if user is None:
            raise click.ClickException(f"没有账号 {username}")
        token = create_token(s, user, name, dt.timedelta(days=days))
    click.echo(token)


@tokens.command("list")
@click.argument("username", required=False)
@with_appcontext
def tokens_list(username: str | None) -> None:
    """列出令牌（编号、账号、用途、创建与最近使用时间、是否已吊销）；令牌本身不可再显示。"""
    store = store_for(current_app)
    with store.session() as s:
        query = select(ApiToken).join(User).order_by(ApiToken.id)
        if username:
            query = query.where(User.username == username)
        for row in s.scalars(query):
            used = row.last_used_at.isoformat(timespec="minutes") if row.last_used_at else "从未使用"
            expires = row.expires_at.replace(tzinfo=row.expires_at.tzinfo or dt.UTC) if row.expires_at else None
            if row.revoked:
                state = "已吊销"
            elif expires and expires <= utcnow():
                state = "已过期"
            else:
                state = f"有效至 {expires.isoformat(timespec='minutes')}" if expires else "有效（不过期）"
            click.echo(f"{row.id}\t{row.user.username}\t{row.name or '-'}\t"
                       f"创建 {row.created_at.isoformat(timespec='minutes')}\t最近使用 {used}\t{state}")


@tokens.command("revoke")
@click.argument("token_id", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """吊销令牌：立即失效（令牌泄露或人员变动时使用）。"""
    store = store_for(current_app)
    with store.session.begin() as s:
        try:
            row = revoke_token(s, token_id)
        except LookupError as exc:
            raise click.ClickException(str(exc)) from None
        audit(s, "cli", "token_revoked", f"token:{row.id}", user=row.user.username)
    click.echo(f"已吊销令牌 {token_id}。")
