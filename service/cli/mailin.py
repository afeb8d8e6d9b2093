"""``flask mail …``: read the mail-in mailbox now (for cron, e.g. every five minutes), list the messages, and
assign one whose sender's address belongs to no unit — the same use cases as the staff's page /admin/mail."""

from __future__ import annotations

import json

import click
from flask import current_app
from flask.cli import with_appcontext
from imapclient.exceptions import IMAPClientError

from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.actions.mail_assign import mail_row, mail_rows
from service.jobs.mail import mail_settings
from service.jobs.mailin import assign, fetch, mailin_settings
from service.problems.catalogue import message
from service.store import store_for

mail = click.Group("mail", help="邮件报送：收取收件邮箱中的邮件，把附件作为发件单位的报送材料。")


@mail.command("fetch")
@with_appcontext
def mail_fetch() -> None:
    """收取收件邮箱中的新邮件：按发件地址找到单位，把附件作为该单位的报送材料，并回信告知结果。"""
    settings = mailin_settings(current_app.config)
    if settings is None:
        click.echo(message("MAIL_IN_NOT_CONFIGURED"))
        return
    outbox = mail_settings(current_app.config)
    try:
        done = fetch(store_for(current_app), settings, outbox)
    except (OSError, IMAPClientError) as exc:
        reason = f"{type(exc).__name__}: {exc}"[:300]
        raise click.ClickException(message("MAIL_FETCH_FAILED", server=f"{settings.host}:{settings.port}",
                                           reason=reason)) from None
    except ValueError as exc:  # the unit addresses' data file is not what it should be
        raise click.ClickException(str(exc)) from None
    click.echo(f"已收取 {done.taken} 封，待指定单位 {done.unassigned} 封，未能收取 {done.failed} 封，"
               f"重复 {done.duplicate} 封，留待下次 {done.busy} 封；指定单位后收取 {done.resumed} 封。")
    if outbox is None:
        click.echo(message("MAIL_NOT_CONFIGURED"))
    else:
        click.echo(f"回信已发送 {done.replies_sent} 封，发送失败 {done.replies_failed} 封（失败的会按间隔自动重试）。")


@mail.command("list")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出")
@with_appcontext
def mail_list(as_json: bool) -> None:
    """列出收到的邮件：待指定单位的在前。"""
    rows = mail_rows(store_for(current_app))
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        unit = f"，{row['unit_name']}" if row["unit"] else ""
        click.echo(f"第 {row['id']} 号  {row['state_label']}{unit}  {row['sender']}  {row['subject']}  "
                   f"{len(row['results'])} 个文件  {row['reply_label']}")


@mail.command("assign")
@click.argument("mail_id", type=int)
@click.argument("unit")
@click.option("--by", default="cli", show_default=True, help="操作人（平台工作人员，记入审计日志）")
@with_appcontext
def mail_assign(mail_id: int, unit: str, by: str) -> None:
    """为一封待指定单位的邮件指定单位（如 ln-08）：附件作为该单位的报送材料，并回信告知结果。"""
    store = store_for(current_app)
    try:
        assign(store, Actor(by, "admin"), mail_id, unit, mail_settings(current_app.config))
    except IntakeError as exc:
        raise click.ClickException(f"[{exc.code}] {exc.message}") from None
    row = mail_row(store, mail_id)
    click.echo(f"第 {mail_id} 号邮件已指定给{row['unit_name']}：")
    for item in row["results"]:
        click.echo(f"  {item['name']}：{item['status_label']}" + (f"（{item['code']}）" if item.get("code") else ""))
