"""The reply to a unit that sent its files by e-mail (:mod:`service.jobs.mailin`): each file's result with the link
to its report (PUBLIC_URL + /r/submissions/<id>), or why nothing was received.

It goes to the sender's address with the notices' SMTP settings (:func:`service.jobs.mail.connect`). The outbox of
notices is for accounts, and a sender may have none (an address listed for its unit, a stranger's address staff
assigned), so each message keeps its own reply state, claimed and retried with the notices' back-off like a notice.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

from sqlalchemy import select, update

from service.actions.mail_assign import submitter_units
from service.actions.notices import BEIJING
from service.actions.shapes import PAGES
from service.forms.catalog import Catalog
from service.jobs.mail import (
    MAX_ATTEMPTS,
    PLATFORM,
    MailSettings,
    backoff,
    close_quietly,
    connect,
    failure_reason,
)
from service.problems.catalogue import message
from service.store import Store
from service.store.lifecycle import label
from service.store.models import MailMessage, utcnow

CLAIM = dt.timedelta(minutes=10)  # a claim older than this was left by a process that died
DUE = ("pending", "failed", "sending")


def aware(moment: dt.datetime) -> dt.datetime:
    """A stored moment in UTC (SQLite keeps no offset: the store writes UTC)."""
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _file_lines(i: int, item: dict[str, Any], public_url: str) -> list[str]:
    lines = [f"{i}. {item['name']}"]
    result = label(item["status"]) if item.get("status") else "已作为附件收下"
    if item.get("outcome") == "duplicate":
        result = f"与已提交的文件相同，未重复计入（当前状态：{result}）"
    lines.append(f"   结果：{result}" + (f"（{item['code']}）" if item.get("code") else ""))
    if item.get("message") and item.get("outcome") != "duplicate":
        lines.append(f"   说明：{item['message']}")
    if item.get("submission_id"):
        path = f"{PAGES}/submissions/{item['submission_id']}"
        lines.append(f"   查看报告：{public_url}{path}" if public_url
                     else f"   报告：登录平台后查看第 {item['submission_id']} 号报送")
    return lines


def reply_text(row: MailMessage, public_url: str, cat: Catalog | None = None) -> str:
    """The reply's text: each file's result with the link to its report, or why nothing was received."""
    when = aware(row.received_at).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    subject = f"“{row.subject}”" if row.subject else "（无主题）"
    lines = [f"{row.sender_name or row.sender}：", "", f"平台已收到您于 {when} 发来的邮件{subject}。"]
    if row.state == "failed":
        lines += ["", f"这封邮件未能收取：{row.error}"]
    else:
        unit = submitter_units(cat).get(row.unit or "", row.unit or "")
        lines += [f"邮件中的 {len(row.results)} 个文件已作为{unit}的报送材料处理，结果如下：", ""]
        for i, item in enumerate(row.results, 1):
            lines += _file_lines(i, item, public_url)
        lines += ["", "登录平台后可以查看每份材料的报告；需要修改的，请修改后重新发送或在平台上传，新版本会替换旧版本。"]
    lines += ["", "——", f"本邮件由{PLATFORM}自动发送。"]
    return "\n".join(lines) + "\n"


def compose_reply(row: MailMessage, settings: MailSettings, cat: Catalog | None = None) -> EmailMessage:
    """The reply to a message's sender (RFC 3834: marked auto-replied, in the thread of the message)."""
    msg = EmailMessage()
    msg["Subject"] = f"【{PLATFORM}】邮件报送结果：{row.subject or '（无主题）'}"[:300]
    msg["From"] = formataddr((PLATFORM, settings.sender))
    msg["To"] = formataddr((row.sender_name, row.sender))
    msg["Date"] = format_datetime(utcnow().astimezone(BEIJING))
    msg["Message-ID"] = make_msgid(f"mailin.{row.id}", domain=settings.sender.rpartition("@")[2] or "localhost")
    msg["Auto-Submitted"] = "auto-replied"
    if row.message_id.startswith("<") and row.message_id.endswith(">"):
        try:
            msg["In-Reply-To"] = msg["References"] = row.message_id
        except ValueError:  # a Message-ID the header rules refuse: the reply stands alone
            pass
    msg.set_content(reply_text(row, settings.public_url, cat))
    return msg


def _claim_replies(store: Store, now: dt.datetime, limit: int) -> list[int]:
    """The due replies this process sends, each claimed atomically (as the notices' outbox claims)."""
    with store.session() as s:
        due = list(s.scalars(select(MailMessage.id).where(MailMessage.reply_state.in_(DUE),
                                                          MailMessage.reply_next_at <= now)
                             .order_by(MailMessage.reply_next_at, MailMessage.id).limit(limit)))
    taken = []
    for mail_id in due:
        with store.session.begin() as s:
            claimed = s.execute(update(MailMessage).where(
                MailMessage.id == mail_id, MailMessage.reply_state.in_(DUE), MailMessage.reply_next_at <= now)
                .values(reply_state="sending", reply_next_at=now + CLAIM)).rowcount
        if claimed:
            taken.append(mail_id)
    return taken


def _replied(store: Store, mail_id: int, now: dt.datetime, exc: BaseException | None = None) -> None:
    with store.session.begin() as s:
        row = s.get(MailMessage, mail_id)
        row.reply_attempts += 1
        if exc is None:
            row.reply_state, row.replied_at, row.reply_next_at, row.reply_error = "sent", now, None, ""
            return
        row.reply_state = "failed"
        row.reply_error = message("MAIL_REPLY_FAILED", address=row.sender, reason=failure_reason(exc))
        row.reply_next_at = now + backoff(row.reply_attempts) if row.reply_attempts < MAX_ATTEMPTS else None


def send_replies(store: Store, settings: MailSettings, now: dt.datetime | None = None, limit: int = 100,
                 cat: Catalog | None = None) -> tuple[int, int]:
    """Send the due replies over one SMTP connection: (sent, failed), each result written down as it happens."""
    now = aware(now or utcnow())
    sent = failed = 0
    conn: smtplib.SMTP | None = None
    try:
        for mail_id in _claim_replies(store, now, limit):
            try:
                with store.session() as s:
                    row = s.get(MailMessage, mail_id)
                    msg, to = compose_reply(row, settings, cat), row.sender
                conn = conn or connect(settings)
                conn.send_message(msg, to_addrs=[to])
            except (OSError, ValueError, smtplib.SMTPException) as exc:  # ValueError: a header no rule lets through
                _replied(store, mail_id, now, exc)
                failed += 1
                if isinstance(exc, (OSError, smtplib.SMTPServerDisconnected)):
                    conn = close_quietly(conn)
            else:
                _replied(store, mail_id, now)
                sent += 1
    finally:
        close_quietly(conn)
    return sent, failed
