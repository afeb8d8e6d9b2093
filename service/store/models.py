"""The platform's tables (SQLAlchemy 2). Alembic migrations in ``migrations/`` create them; never ``create_all``.

Files are rows too (``stored_files``, content-addressed by sha256; the bytes live in the file store), so that
nothing uploaded is lost: an upload is recorded before anything parses it, and a submission only points at it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, dt.datetime: DateTime(timezone=True)}


class Campaign(Base):
    """A campaign as loaded from ``data/campaigns`` by ``init-db`` (the data file stays the source)."""

    __tablename__ = "campaigns"
    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    document_number: Mapped[str] = mapped_column(String(100))
    deadline: Mapped[str] = mapped_column(String(10))
    data: Mapped[dict[str, Any]]
    loaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Entity(Base):
    """A row of a reference list: a recommender, a first-batch group, a Liaoning group."""

    __tablename__ = "entities"
    source: Mapped[str] = mapped_column(String(60), primary_key=True)
    id: Mapped[str] = mapped_column(String(60), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40), default="")
    data: Mapped[dict[str, Any]]


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(300))
    role: Mapped[str] = mapped_column(String(20))  # admin | recommender | school
    entity_id: Mapped[str | None] = mapped_column(String(60), nullable=True)  # the recommender / group it acts for
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    email: Mapped[str] = mapped_column(String(200), default="")  # where notices go (and where mail in comes from)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)  # a one-time password was set
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class ApiToken(Base):
    """An API token: only its sha256 is kept; the token itself is shown once when created."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100), default="")
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # None: made before tokens expired
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    user: Mapped[User] = relationship()


class LoginSession(Base):
    """One signed-in browser. The cookie carries a random id whose sha256 is kept here, so that logging out, a
    password change or an administrator can end a session on the server: a copied cookie dies with it."""

    __tablename__ = "login_sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    user: Mapped[User] = relationship()


class TrustedBrowser(Base):
    """A browser that signed in to an account before (a long-lived random cookie, its sha256 kept here): failed
    attempts by others slow down strangers, never the account's own browsers."""

    __tablename__ = "trusted_browsers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StoredFile(Base):
    """One distinct content (sha256); the bytes are in the file store under that name."""

    __tablename__ = "stored_files"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Upload(Base):
    """Every time a file reached the platform: who sent which bytes under which name, when, to which campaign."""

    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("stored_files.sha256"))
    original_name: Mapped[str] = mapped_column(String(400))
    size: Mapped[int] = mapped_column(BigInteger)
    campaign_id: Mapped[str] = mapped_column(String(40))
    recommender_id: Mapped[str] = mapped_column(String(60))
    uploader: Mapped[str] = mapped_column(String(80))
    channel: Mapped[str] = mapped_column(String(20))  # api | web | cli | bulk
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Submission(Base):
    """A parsed form: the file, its record, its report and status. Resubmissions supersede and stay in history."""

    __tablename__ = "submissions"
    __table_args__ = (
        UniqueConstraint("campaign_id", "recommender_id", "sha256", name="uq_submission_content"),
        Index("ix_submission_current", "campaign_id", "recommender_id", "form_id", "entity_key", "is_current"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(40))
    recommender_id: Mapped[str] = mapped_column(String(60))
    form_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    entity_key: Mapped[str] = mapped_column(String(300))  # what one submission is "of": a group, the recommender
    version: Mapped[int] = mapped_column(Integer, default=1)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    superseded_by: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    sha256: Mapped[str] = mapped_column(ForeignKey("stored_files.sha256"))
    upload_id: Mapped[int] = mapped_column(ForeignKey("uploads.id"))
    original_name: Mapped[str] = mapped_column(String(400))
    # The status shown everywhere (service.store.lifecycle): the held ``state`` when a person set one, else
    # what the problems give (accepted | needs_review | late | rejected | unreadable | misdirected).
    status: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="")  # "" | returned | withdrawn | dismissed | reassigned
    state_note: Mapped[str] = mapped_column(Text, default="")  # the message of a return, the reason of a withdrawal
    state_by: Mapped[str] = mapped_column(String(80), default="")
    state_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    reassigned_to: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    readable: Mapped[bool] = mapped_column(Boolean, default=True)
    record: Mapped[dict[str, Any]]
    report: Mapped[dict[str, Any]]  # the parse result (fields, problems of the file itself)
    cross_problems: Mapped[list[Any]] = mapped_column(default=list)  # problems found across submissions
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    attachments: Mapped[list[Attachment]] = relationship(back_populates="submission", order_by="Attachment.id")


class Attachment(Base):
    """A file that belongs to a submission without being a form: 政策文件, 盖章扫描件."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    kind: Mapped[str] = mapped_column(String(40))  # the campaign's attachment id
    sha256: Mapped[str] = mapped_column(ForeignKey("stored_files.sha256"))
    original_name: Mapped[str] = mapped_column(String(400))
    media: Mapped[str] = mapped_column(String(20))  # pdf | image | word | excel
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submission: Mapped[Submission] = relationship(back_populates="attachments")


class ReviewDecision(Base):
    """A person's decision on a flagged field: accept a candidate or correct the value. The original stays."""

    __tablename__ = "review_decisions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))
    path: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(20))  # accept | correct
    original: Mapped[Any] = mapped_column(JSON, nullable=True)
    value: Mapped[Any] = mapped_column(JSON, nullable=True)
    note: Mapped[str] = mapped_column(Text, default="")
    user: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    carried_from: Mapped[int | None] = mapped_column(Integer, nullable=True)  # the version it was first taken on


class Comment(Base):
    """One message in a submission's thread between its unit and the staff (kept per form and group, so the
    thread follows every version)."""

    __tablename__ = "comments"
    __table_args__ = (Index("ix_comment_thread", "campaign_id", "recommender_id", "form_id", "entity_key"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(40))
    recommender_id: Mapped[str] = mapped_column(String(60))
    form_id: Mapped[str | None] = mapped_column(String(60), nullable=True)
    entity_key: Mapped[str] = mapped_column(String(300))
    submission_id: Mapped[int] = mapped_column(ForeignKey("submissions.id"))  # the version it was written on
    author: Mapped[str] = mapped_column(String(80))
    author_role: Mapped[str] = mapped_column(String(20))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LetterOrder(Base):
    """A recommender's ranking of its 推荐书 (the notice's 推荐排序名单): group keys, first is rank 1."""

    __tablename__ = "letter_orders"
    campaign_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    recommender_id: Mapped[str] = mapped_column(String(60), primary_key=True)
    entity_keys: Mapped[list[Any]] = mapped_column(default=list)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    __tablename__ = "audit_log"
    # The login throttle asks "failures for this user and address since T" on every attempt.
    __table_args__ = (Index("ix_audit_action_target_at", "action", "target", "at"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(60))
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Job(Base):
    """A background job: a bulk ingest (its items in ``job_items``, so a killed process resumes exactly) or a
    compilation (its PDF in the file store at ``result_sha256``; a killed one starts again)."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    campaign_id: Mapped[str] = mapped_column(String(40))
    recommender_id: Mapped[str] = mapped_column(String(60))
    created_by: Mapped[str] = mapped_column(String(80))
    state: Mapped[str] = mapped_column(String(20), default="queued")  # queued | spooling | running | done | failed
    sources: Mapped[list[Any]] = mapped_column(default=list)  # what to ingest: stored zips (sha256) or paths
    spooled: Mapped[bool] = mapped_column(Boolean, default=False)
    total: Mapped[int] = mapped_column(Integer, default=0)
    done: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(120), nullable=True)  # host:pid of the process running it
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    result_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    report: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)  # what a compilation says it left out


class JobItem(Base):
    __tablename__ = "job_items"
    __table_args__ = (UniqueConstraint("job_id", "seq", name="uq_job_item_seq"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(400))
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(20), default="pending")  # pending | done
    result: Mapped[str] = mapped_column(String(20), default="")  # stored|duplicate|accepted|needs_review|rejected|late|unreadable
    code: Mapped[str] = mapped_column(String(60), default="")
    message: Mapped[str] = mapped_column(Text, default="")
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)


class Notice(Base):
    """A notice to one person (a file returned, accepted, reassigned or withdrawn; a reminder before a deadline; the
    staff's daily digest). It is shown in the app whatever happens to its e-mail; the outbox columns say where
    the e-mail is: ``mail_state`` "" (no address: the app only) | pending | sending | sent | failed, with the
    attempts made, the last error and when to try again. A notice is never deleted, so no failed send loses it.

    ``key`` makes a notice once-only per user (a reminder per unit, campaign and day-offset; a digest per day; an
    acceptance per submission): a second run finds the key and sends nothing new."""

    __tablename__ = "notices"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notice_user_key"),
        Index("ix_notice_user_read", "user_id", "read_at"),
        Index("ix_notice_mail_due", "mail_state", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # return | withdraw | reassign | reassigned_in | restore | accepted | reminder | digest
    kind: Mapped[str] = mapped_column(String(30))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str] = mapped_column(String(400), default="")  # a path on the site: the report, the review queue
    submission_id: Mapped[int | None] = mapped_column(ForeignKey("submissions.id"), nullable=True)
    campaign_id: Mapped[str | None] = mapped_column(String(40), nullable=True)
    key: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    email: Mapped[str] = mapped_column(String(200), default="")  # the address when the notice was made
    mail_state: Mapped[str] = mapped_column(String(20), default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # None: no automatic attempt
    sent_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    user: Mapped[User] = relationship()


class MailMessage(Base):
    """An e-mail read from the mail-in mailbox (:mod:`service.jobs.mailin`), taken once by its Message-ID.

    ``state``: taken (its files were received for the unit its sender's address belongs to) | unassigned (no unit
    known for the sender: it waits for staff) | assigned (staff chose the unit; its files are then received for it)
    | failed (nothing in it could be received: no attachment, too large). The message itself is kept in the file
    store (``raw_sha256``), so that staff can assign it later; ``taken_at`` says its files were received, the
    per-file verdicts in ``results``. The reply to the sender is an outbox of one: ``reply_state`` "" (no reply: an
    automatic message or an unknown sender's) | held (until the files are received) | pending | sending | sent |
    failed, with attempts, the last error and the next attempt."""

    __tablename__ = "mail_messages"
    __table_args__ = (
        Index("ix_mail_state", "state"),
        Index("ix_mail_reply_due", "reply_state", "reply_next_at"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_id: Mapped[str] = mapped_column(String(400), unique=True)
    sender: Mapped[str] = mapped_column(String(200), default="")  # the From address, lower case
    sender_name: Mapped[str] = mapped_column(String(200), default="")
    subject: Mapped[str] = mapped_column(String(400), default="")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)  # when the mailbox received it (INTERNALDATE)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    raw_sha256: Mapped[str | None] = mapped_column(ForeignKey("stored_files.sha256"), nullable=True)
    state: Mapped[str] = mapped_column(String(20))  # taken | unassigned | assigned | failed
    unit: Mapped[str | None] = mapped_column(String(60), nullable=True)
    assigned_by: Mapped[str] = mapped_column(String(80), default="")
    upload_ids: Mapped[list[Any]] = mapped_column(default=list)
    results: Mapped[list[Any]] = mapped_column(default=list)  # each file: name, status, code, message, submission
    error: Mapped[str] = mapped_column(Text, default="")  # why it waits or failed, worded by the catalogue
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # a process receiving its files
    taken_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)  # its files were received
    reply_state: Mapped[str] = mapped_column(String(20), default="")
    reply_attempts: Mapped[int] = mapped_column(Integer, default=0)
    reply_error: Mapped[str] = mapped_column(Text, default="")
    reply_next_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
    replied_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)


class FormDraft(Base):
    """A form being made in the form designer (:mod:`service.actions.form_designer`): the uploaded document (its
    bytes in the file store, the template once published), the fields proposed from it and edited (``fields``)
    and the JSON Schema made from them, the campaign and form id it is for, pictures of its pages, the last
    preview, and its state: draft (changes not yet published) | published (the instance layer holds it as it is).
    ``version`` is the form's version when it was last published ("" before)."""

    __tablename__ = "form_drafts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campaign_id: Mapped[str] = mapped_column(String(40))
    form_id: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    annex: Mapped[str] = mapped_column(String(40), default="")
    one_per: Mapped[str] = mapped_column(String(20), default="recommender")
    filename: Mapped[str] = mapped_column(String(400))
    kind: Mapped[str] = mapped_column(String(10))  # docx | xlsx
    document_sha256: Mapped[str] = mapped_column(ForeignKey("stored_files.sha256"))
    fields: Mapped[list[Any]] = mapped_column(default=list)
    schema: Mapped[dict[str, Any]] = mapped_column(default=dict)
    pages: Mapped[list[Any]] = mapped_column(default=list)  # sha256 of a PNG per page (the first pages)
    picture_note: Mapped[str] = mapped_column(Text, default="")  # why there is no picture, if there is none
    preview: Mapped[dict[str, Any] | None] = mapped_column(nullable=True)
    state: Mapped[str] = mapped_column(String(20), default="draft")
    version: Mapped[str] = mapped_column(String(20), default="")
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(80), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_by: Mapped[str] = mapped_column(String(80), default="")
    published_at: Mapped[dt.datetime | None] = mapped_column(nullable=True)
