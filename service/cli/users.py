"""``flask users …``: platform accounts from the server's command line, for when there is no staff page yet (the
first administrator) or for scripts. Every command calls the same use case as the staff pages and the API.

A password is never an argument (other users of the machine could read it in the process list): it is generated
and printed once (a one-time password, to be changed at the first sign-in), or read from a file or from stdin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from service.actions import accounts as acc
from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.forms.datafile import DataError
from service.outputs.accounts_sheet import accounts_sheet
from service.store import store_for
from service.store.models import User

users = click.Group("users", help="平台账号。")
BY = click.option("--by", default="cli", show_default=True, help="操作人（记入审计日志）")


def _run(call):
    try:
        return call()
    except IntakeError as exc:
        raise click.ClickException(f"[{exc.code}] {exc.message}") from None
    except DataError as exc:  # the campaigns' data files: each mistake with its file and place, no traceback
        raise click.ClickException(str(exc)) from None


def _read_password(password_file: str | None, password_stdin: bool) -> str | None:
    if password_file and password_stdin:
        raise click.UsageError("--password-file 和 --password-stdin 只能用一个")
    if password_file:
        return Path(password_file).read_text(encoding="utf-8").strip("\r\n")
    if password_stdin:
        return sys.stdin.readline().strip("\r\n")
    return None


@users.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice(["admin", "recommender", "school"]), required=True)
@click.option("--entity", help="推荐单位/报送单位账号所代表的单位编号：征集活动所用任一名单中的编号（如 edu-ln、city-dl、ln-08）")
@click.option("--name", "display_name", default="", help="显示名称")
@click.option("--email", default="", help="电子邮箱（接收通知）")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False), help="从文件读取密码（第一行）")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取密码（第一行）")
@BY
@with_appcontext
def users_create(username: str, role: str, entity: str | None, display_name: str, email: str,
                 password_file: str | None, password_stdin: bool, by: str) -> None:
    """创建账号；不给密码时生成一次性密码（只显示这一次，首次登录须修改）。"""
    password = _read_password(password_file, password_stdin)
    issued = _run(lambda: acc.create_account(store_for(current_app), Actor(by, "admin"), username, role, entity,
                                             display_name, email, password))
    what = f"已创建账号 {username}（{role}{'，' + entity if entity else ''}）"
    click.echo(what + (f"  一次性密码：{issued.password}（只显示这一次，首次登录须修改）" if issued.password else ""))


@users.command("create-for-campaign")
@click.argument("campaign_id")
@click.option("-o", "--sheet", "sheet", type=click.Path(dir_okay=False), help="把用户名和一次性密码写入 xlsx 表")
@BY
@with_appcontext
def users_create_for_campaign(campaign_id: str, sheet: str | None, by: str) -> None:
    """为征集活动名单中每个还没有账号的单位创建账号（一次性密码只在这里出现一次）。"""
    issued = _run(lambda: acc.create_campaign_accounts(store_for(current_app), Actor(by, "admin"), campaign_id))
    if sheet:
        Path(sheet).write_bytes(accounts_sheet(issued, current_app.config.get("PUBLIC_URL", "")))
        click.echo(f"已创建 {len(issued)} 个账号，用户名和一次性密码见 {sheet}（请妥善保管，发放后删除）。")
    else:
        for item in issued:
            click.echo(f"{item.unit}\t{item.username}\t{item.password}")
        click.echo(f"已创建 {len(issued)} 个账号。", err=True)


@users.command("ensure-admin")
@click.option("--username", default="admin", show_default=True)
@with_appcontext
def users_ensure_admin(username: str) -> None:
    """没有管理员时创建一个，并只显示这一次它的一次性密码（首次登录须修改）。"""
    store = store_for(current_app)
    with store.session() as s:
        if s.query(User).filter_by(role="admin").first() is not None:
            click.echo("已有管理员账号；如忘记密码，请用 flask --app wsgi users set-password 用户名 重设。")
            return
    issued = _run(lambda: acc.create_account(store, Actor("cli", "admin"), username, "admin", None, "平台管理员"))
    click.echo(f"已创建管理员账号：{username}  初始密码：{issued.password}（只显示这一次，首次登录须修改）")


@users.command("set-password")
@click.argument("username")
@click.option("--password-file", type=click.Path(exists=True, dir_okay=False), help="从文件读取新密码（第一行）")
@click.option("--password-stdin", is_flag=True, help="从标准输入读取新密码（第一行）")
@click.option("--revoke-tokens", is_flag=True, help="同时吊销该账号的全部 API 令牌")
@BY
@with_appcontext
def users_set_password(username: str, password_file: str | None, password_stdin: bool, revoke_tokens: bool,
                       by: str) -> None:
    """重设账号密码：不给密码时生成一次性密码（只显示这一次，下次登录须修改）；该账号已登录的会话随即失效。"""
    password = _read_password(password_file, password_stdin)
    store = store_for(current_app)
    if password is None:
        issued = _run(lambda: acc.reset_password(store, Actor(by, "admin"), username, revoke_tokens=revoke_tokens))
        click.echo(f"已重设 {username} 的密码：{issued.password}（只显示这一次，下次登录须修改）")
        return
    _run(lambda: acc.set_account_password(store, Actor(by, "admin"), username, password,
                                          revoke_tokens=revoke_tokens))
    click.echo(f"已重设 {username} 的密码。")


@users.command("disable")
@click.argument("username")
@BY
@with_appcontext
def users_disable(username: str, by: str) -> None:
    """停用账号：其会话立即失效，API 令牌不再可用。"""
    _run(lambda: acc.set_disabled(store_for(current_app), Actor(by, "admin"), username, True))
    click.echo(f"已停用 {username}。")


@users.command("enable")
@click.argument("username")
@BY
@with_appcontext
def users_enable(username: str, by: str) -> None:
    """重新启用账号。"""
    _run(lambda: acc.set_disabled(store_for(current_app), Actor(by, "admin"), username, False))
    click.echo(f"已启用 {username}。")


@users.command("unlock")
@click.argument("username")
@BY
@with_appcontext
def users_unlock(username: str, by: str) -> None:
    """解锁：此前输错的密码不再延缓该账号的登录。"""
    _run(lambda: acc.unlock(store_for(current_app), Actor(by, "admin"), username))
    click.echo(f"已解锁 {username}。")
