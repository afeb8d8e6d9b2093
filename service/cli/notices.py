"""``flask notices …``: send the e-mail outbox now, make the reminders and the staff's digest that are due (for
cron, or by hand when the web processes do not run the background sender), and list notices."""

from __future__ import annotations

import datetime as dt

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from service.actions.notices import BEIJING, digest, remind
from service.jobs.mail import mail_settings, send_due
from service.problems.catalogue import message
from service.store import store_for
from service.store.models import Notice, User

notices = click.Group("notices", help="平台内通知与通知邮件。")
MAIL_STATES = {"": "仅平台内", "pending": "待发送", "sending": "发送中", "sent": "已发送", "failed": "发送失败"}


@notices.command("send")
@with_appcontext
def notices_send() -> None:
    """立即发送到期的通知邮件（失败的按间隔重试，通知不会丢失）。"""
    settings = mail_settings(current_app.config)
    if settings is None:
        click.echo(message("MAIL_NOT_CONFIGURED"))
        return
    done = send_due(store_for(current_app), settings)
    click.echo(f"已发送 {done.sent} 封，失败 {done.failed} 封（失败的会按间隔自动重试）。")


@notices.command("remind")
@click.option("--today", type=click.DateTime(["%Y-%m-%d"]), help="按这一天计算距截止的天数（默认今天，北京时间）")
@with_appcontext
def notices_remind(today: dt.datetime | None) -> None:
    """向尚有材料未报送的单位发送截止提醒（每个单位、每次活动、每个提前天数只发一次）。"""
    made = remind(store_for(current_app), today=today.date() if today else None)
    click.echo(f"已生成 {made} 条截止提醒。")


@notices.command("digest")
@click.option("--now", type=click.DateTime(["%Y-%m-%dT%H:%M"]), help="摘要截至的时间（北京时间，默认现在）")
@with_appcontext
def notices_digest(now: dt.datetime | None) -> None:
    """向平台工作人员发送每日摘要（新收到的文件、复核队列；每天一次）。"""
    made = digest(store_for(current_app), now.replace(tzinfo=BEIJING) if now else None)
    click.echo(f"已生成 {made} 条每日摘要。" if made else "今天的摘要已生成过，或没有需要报告的内容。")


@notices.command("list")
@click.option("--user", "username", help="只列出该账号的通知")
@click.option("--state", type=click.Choice(sorted(s for s in MAIL_STATES if s)), help="只列出邮件处于该状态的通知")
@click.option("--limit", default=50, show_default=True)
@with_appcontext
def notices_list(username: str | None, state: str | None, limit: int) -> None:
    """列出通知（最新的在前）及其邮件状态、尝试次数和最近一次错误。"""
    query = select(Notice, User.username).join(User, User.id == Notice.user_id)
    if username:
        query = query.where(User.username == username)
    if state:
        query = query.where(Notice.mail_state == state)
    with store_for(current_app).session() as s:
        rows = s.execute(query.order_by(Notice.id.desc()).limit(limit)).all()
        for n, who in rows:
            read = "已读" if n.read_at else "未读"
            mail = MAIL_STATES.get(n.mail_state, n.mail_state)
            at = (n.created_at if n.created_at.tzinfo else n.created_at.replace(tzinfo=dt.UTC)).astimezone(BEIJING)
            click.echo(f"{n.id}\t{who}\t{at:%Y-%m-%d %H:%M}\t{read}\t{mail}（尝试 {n.attempts} 次）\t{n.title}")
            if n.last_error:
                click.echo(f"\t最近一次错误：{n.last_error}")
    if not rows:
        click.echo("没有通知。")
