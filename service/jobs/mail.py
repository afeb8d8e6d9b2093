"""The e-mail outbox: notices (:mod:`service.actions.notices`) sent by SMTP when a mail server is configured.

A notice is in the app whatever happens here; its outbox columns say where its e-mail is. A round claims the due
notices (pending, failed and due again, or left ``sending`` by a process that died), sends each over one SMTP
connection, and writes down the result: ``sent``, or ``failed`` with one more attempt, the error, and the next
attempt after an exponential back-off (1 min, 2, 4 … at most 6 h; after :data:`MAX_ATTEMPTS` only staff's
"retry now" tries again). Nothing here deletes a notice.

:class:`MailSender` runs the rounds in a thread of the web process (started with the job runner), and makes the
reminders and the staff's digest when they are due; ``flask notices send|remind|digest`` does the same by hand or
from cron. The messages are plain text with an HTML alternative, in Chinese, with a link to the page.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import smtplib
import ssl
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from service.actions.notices import BEIJING, digest, remind
from service.problems.catalogue import message
from service.store import Store, store_for
from service.store.models import Notice, User, utcnow

log = logging.getLogger(__name__)
PLATFORM = "示范性职业教育集团报送平台"
FOOTER = "本邮件由示范性职业教育集团报送平台自动发送，请勿直接回复。登录平台后，页面顶部的“通知”中可以查看全部通知。"
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_WAIT = dt.timedelta(hours=6)
MAX_ATTEMPTS = 10
CLAIM = dt.timedelta(minutes=10)  # a send claimed longer ago than this was left by a process that died
BATCH = 100
DUE = ("pending", "failed", "sending")
DIGEST_HOUR = 8  # the staff's digest is made from 8:00 Beijing time, for the 24 hours before


@dataclass(frozen=True)
class MailSettings:
    """Where and how to send: the app's ``MAIL_*`` settings (``JTH_MAIL_*`` in the environment)."""

    server: str
    port: int = 25
    sender: str = ""
    username: str = ""
    password: str = ""
    starttls: bool = False  # upgrade a plain connection (submission port 587)
    tls: bool = False  # TLS from the first byte (SMTPS, port 465)
    public_url: str = ""  # the site's address for links in the messages
    timeout: float = 30.0


def mail_settings(config: Mapping[str, Any]) -> MailSettings | None:
    """The settings of ``config`` (the app's config), or None when no mail server is configured: then notices
    stay in the app."""
    server = str(config.get("MAIL_SERVER") or "").strip()
    if not server:
        return None
    tls = bool(config.get("MAIL_USE_TLS"))
    return MailSettings(server=server, port=int(config.get("MAIL_PORT") or (465 if tls else 25)),
                        sender=str(config.get("MAIL_FROM") or "").strip() or f"noreply@{server}",
                        username=str(config.get("MAIL_USERNAME") or ""), password=str(config.get("MAIL_PASSWORD") or ""),
                        starttls=bool(config.get("MAIL_USE_STARTTLS")), tls=tls,
                        public_url=str(config.get("PUBLIC_URL") or "").rstrip("/"))


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after the ``attempts``-th failure: 1 min, 2, 4 … at most 6 hours."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_WAIT)


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC) if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _html(name: str, body: str, url: str) -> str:
    paragraphs = "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in body.split("\n\n") if p)
    link = f'<p><a href="{html.escape(url)}">查看详情</a></p>' if url else "<p>请登录平台查看详情。</p>"
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"></head>'
            f'<body style="font-family: sans-serif; line-height: 1.7"><p>{html.escape(name)}：</p>{paragraphs}{link}'
            f'<hr><p style="color: #555; font-size: 13px">{html.escape(FOOTER)}</p></body></html>')


def compose(notice: Notice, name: str, address: str, settings: MailSettings,
            now: dt.datetime | None = None) -> EmailMessage:
    """The e-mail of a notice: subject 【示范性职业教育集团报送平台】…, plain text and HTML, a link to the page."""
    url = f"{settings.public_url}{notice.link}" if settings.public_url and notice.link else ""
    msg = EmailMessage()
    msg["Subject"] = f"【{PLATFORM}】{notice.title}"
    msg["From"] = formataddr((PLATFORM, settings.sender))
    msg["To"] = formataddr((name, address))
    msg["Date"] = format_datetime(_utc(now or utcnow()).astimezone(BEIJING))
    msg["Message-ID"] = make_msgid(f"notice.{notice.id}", domain=settings.sender.rpartition("@")[2] or "localhost")
    tail = f"查看详情：{url}" if url else "请登录平台查看详情。"
    msg.set_content(f"{name}：\n\n{notice.body}\n\n{tail}\n\n——\n{FOOTER}\n")
    msg.add_alternative(_html(name, notice.body, url), subtype="html")
    return msg


def connect(settings: MailSettings) -> smtplib.SMTP:
    """An SMTP connection as configured: SMTPS or STARTTLS with the system's certificates, and a login when a
    user name is set."""
    context = ssl.create_default_context()
    if settings.tls:
        conn: smtplib.SMTP = smtplib.SMTP_SSL(settings.server, settings.port, timeout=settings.timeout,
                                              context=context)
    else:
        conn = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
    try:
        if settings.starttls and not settings.tls:
            conn.starttls(context=context)
        if settings.username:
            conn.login(settings.username, settings.password)
    except BaseException:
        conn.close()
        raise
    return conn


@dataclass
class Round:
    """What a round of sending did."""

    sent: int = 0
    failed: int = 0


def _claim(store: Store, now: dt.datetime, limit: int) -> list[int]:
    """The due notices this process takes: each claimed by moving its next attempt past now, atomically, so two
    senders never send one notice twice (a claim left by a dead process is due again after :data:`CLAIM`)."""
    with store.session.begin() as s:
        due = list(s.scalars(select(Notice.id).where(Notice.mail_state.in_(DUE), Notice.next_attempt_at <= now)
                             .order_by(Notice.next_attempt_at, Notice.id).limit(limit)))
    taken = []
    for notice_id in due:
        with store.session.begin() as s:
            claimed = s.execute(update(Notice).where(Notice.id == notice_id, Notice.mail_state.in_(DUE),
                                                     Notice.next_attempt_at <= now)
                                .values(mail_state="sending", next_attempt_at=now + CLAIM)).rowcount
        if claimed:
            taken.append(notice_id)
    return taken


def failure_reason(exc: BaseException) -> str:
    """Why a send failed, short enough to keep (the server's code and text, or the exception)."""
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"{exc.smtp_code} {text}"[:300]
    return f"{type(exc).__name__}: {exc}"[:300]


def _record(store: Store, notice_id: int, now: dt.datetime, exc: BaseException | None = None) -> None:
    """One attempt written down: sent, or failed with its error and the next attempt after the back-off."""
    with store.session.begin() as s:
        n = s.get(Notice, notice_id)
        n.attempts += 1
        if exc is None:
            n.mail_state, n.sent_at, n.next_attempt_at = "sent", now, None
            return
        n.mail_state = "failed"
        n.last_error = message("MAIL_SEND_FAILED", address=n.email or "—", reason=failure_reason(exc))
        n.next_attempt_at = now + backoff(n.attempts) if n.attempts < MAX_ATTEMPTS else None


def _message(store: Store, notice_id: int, settings: MailSettings, now: dt.datetime) -> EmailMessage | None:
    """The message of a claimed notice, to its user's current address; None (the app only) when the user has no
    address any more or was disabled."""
    with store.session.begin() as s:
        n = s.get(Notice, notice_id)
        user = s.get(User, n.user_id)
        address = (user.email or "").strip() if user else ""
        if not address or user.disabled:
            n.mail_state, n.next_attempt_at = "", None
            return None
        n.email = address
        return compose(n, user.display_name or user.username, address, settings, now)


def send_due(store: Store, settings: MailSettings, now: dt.datetime | None = None, limit: int = BATCH) -> Round:
    """One round: send every due e-mail over one connection; each result written down as it happens."""
    now = _utc(now or utcnow())
    claimed = _claim(store, now, limit)
    done = Round()
    conn: smtplib.SMTP | None = None
    try:
        for i, notice_id in enumerate(claimed):
            msg = _message(store, notice_id, settings, now)
            if msg is None:
                continue
            try:
                conn = conn or connect(settings)
            except (OSError, smtplib.SMTPException) as exc:  # no server: every claimed notice waits for the next try
                for rest in claimed[i:]:
                    _record(store, rest, now, exc)
                done.failed += len(claimed) - i
                return done
            try:
                conn.send_message(msg)
            except (OSError, smtplib.SMTPException) as exc:
                _record(store, notice_id, now, exc)
                done.failed += 1
                if isinstance(exc, (OSError, smtplib.SMTPServerDisconnected)):
                    conn = close_quietly(conn)
            else:
                _record(store, notice_id, now)
                done.sent += 1
    finally:
        close_quietly(conn)
    return done


def close_quietly(conn: smtplib.SMTP | None) -> None:
    if conn is None:
        return None
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()
    return None


class MailSender:
    """The outbox in a thread of this process: every ``interval`` seconds a round of sending (when a mail server
    is configured), and once an hour the reminders and the digest that are due (in the app either way)."""

    def __init__(self, store: Store, settings: MailSettings | None, interval: float = 30.0) -> None:
        self.store, self.settings, self.interval = store, settings, interval
        self.thread = threading.Thread(target=self._loop, name="jth-mail", daemon=True)
        self.wake = threading.Event()
        self.started = False
        self.stopping = False
        self._scheduled: tuple[dt.date, int] | None = None

    def start(self) -> None:
        if not self.started:
            self.started = True
            self.thread.start()

    def run_once(self, now: dt.datetime | None = None) -> Round:
        """Reminders and digest when due, then a round of sending."""
        now = _utc(now or utcnow())
        local = now.astimezone(BEIJING)
        hour = (local.date(), local.hour)
        if hour != self._scheduled:
            self._scheduled = hour
            remind(self.store, today=local.date())
            if local.hour >= DIGEST_HOUR:
                digest(self.store, now)
        return send_due(self.store, self.settings, now) if self.settings else Round()

    def stop(self, timeout: float = 10.0) -> None:
        """End the loop after the round in progress (tests, and a process shutting down cleanly)."""
        self.stopping = True
        self.wake.set()
        if self.started:
            self.thread.join(timeout)

    def _loop(self) -> None:
        while not self.stopping:
            try:
                self.run_once()
            except SQLAlchemyError as exc:  # not migrated yet, or another process made the same reminder first
                log.warning("mail round not run: %s", str(exc).splitlines()[0][:200])
            except Exception:  # the sender must outlive any one round
                log.exception("mail round failed")
            if self.stopping:
                break
            self.wake.wait(self.interval)
            self.wake.clear()


_sender_lock = threading.Lock()


def sender_for(app: Any) -> MailSender:
    """The app's mail sender, made once per app from its configuration."""
    with _sender_lock:
        sender = app.extensions.get("jth_mail")
        if sender is None:
            sender = app.extensions["jth_mail"] = MailSender(store_for(app), mail_settings(app.config))
        return sender
