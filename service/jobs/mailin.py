"""Mail in: units that send their files by e-mail (the Liaoning notice asks for the electronic copy by mail).

``flask mail fetch`` (by hand or from cron) reads the new messages of the configured mailbox over IMAP. Each is
taken once, by its Message-ID: the message is kept in the file store and written down (:class:`MailMessage`)
before anything else, its files are received, and only then is it flagged ``\\Seen`` on the server; a process
stopped at any instant loses nothing and counts nothing twice (a message written down whose files were not all
received is taken up again by the next round; receiving the same bytes again files nothing new).

A message's attachments — and the files in an attached zip, read by the bulk ingest's zip reader with its limits
and per-entry verdicts (:mod:`service.jobs.mail_read`) — are uploads of the unit its sender's address belongs to
(:func:`units_of`), received by :func:`service.actions.intake.receive` on the channel ``mail`` at the moment the
mailbox received the message (its INTERNALDATE, which the sender cannot set), each with the coded verdict an
upload gets. A document that is no form but fits one of the campaign's attachments (the 政策文件 PDF beside a
工作总结) is attached to the form it belongs to. A message from an address that belongs to no unit (or to several,
or that the mailbox's server found forged) waits for staff to assign it (:mod:`service.actions.mail_assign`); one
with no attachment, or too large to read, fails with its reason. The sender then gets a reply with each file's
result and the link to its report (:mod:`service.jobs.mail_reply`).

Which campaign: the unit's only campaign; for a unit on the lists of several, the campaign the file identifies
itself as (its stamp, else its title and structure), else the first of them in the catalogue's order.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import ssl
import tempfile
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from imapclient import SEEN, IMAPClient
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from service.actions.actor import Actor
from service.actions.intake import (
    IntakeError,
    add_attachment,
    attachment_problems,
    first_reason,
    media_of,
    receive,
)
from service.actions.mail_assign import assign as assign_unit
from service.actions.mail_assign import unit_campaigns
from service.forms.catalog import DATA, Catalog, catalog
from service.jobs.mail import MailSettings
from service.jobs.mail_read import (
    attachments,
    automatic,
    entries,
    header,
    message_key,
    read_message,
    sender_of,
    unverified,
)
from service.jobs.mail_reply import CLAIM, aware, send_replies
from service.office.limits import MiB
from service.parse.pipeline import parse
from service.problems.catalogue import message
from service.store import Store
from service.store.audit import audit
from service.store.lifecycle import COUNTED
from service.store.models import MailMessage, StoredFile, Submission, Upload, User, utcnow

log = logging.getLogger(__name__)

ADDRESSES = DATA / "accounts" / "unit_addresses.json"  # {"ln-08": ["office@school.edu.cn"], …}
MAX_MESSAGE_BYTES = 70 * MiB  # a 50 MB mailbox limit, in base64
BATCH = 200  # messages read per round
# A document that is no form, maybe a campaign's attachment (a policy PDF): not identified, or a PDF or picture
# too big or too damaged to read as a form.
NOT_A_FORM = frozenset({"FILE_IMAGE_OR_PDF", "FORM_UNKNOWN", "PDF_CORRUPT", "PDF_TOO_MANY_PAGES", "PDF_PAGE_TOO_LARGE",
                        "PICTURE_CORRUPT", "PICTURE_TOO_LARGE", "SCAN_TIMEOUT"})


@dataclass(frozen=True)
class MailinSettings:
    """The mailbox to read: the app's ``MAILIN_*`` settings (``JTH_MAILIN_*`` in the environment)."""

    host: str
    port: int = 993
    user: str = ""
    password: str = ""
    ssl: bool = True  # IMAPS; without it the connection is upgraded by STARTTLS when the server offers it
    folder: str = "INBOX"
    timeout: float = 60.0
    addresses: Path = ADDRESSES
    max_bytes: int = MAX_MESSAGE_BYTES  # a larger message is not read: its sender is told so


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


def mailin_settings(config: Mapping[str, Any]) -> MailinSettings | None:
    """The mailbox of ``config`` (the app's config), or None when none is configured: then no mail is read."""
    host = str(config.get("MAILIN_HOST") or "").strip()
    if not host:
        return None
    use_ssl = _flag(config.get("MAILIN_SSL", True))
    return MailinSettings(host=host, port=int(config.get("MAILIN_PORT") or (993 if use_ssl else 143)),
                          user=str(config.get("MAILIN_USER") or ""), password=str(config.get("MAILIN_PASSWORD") or ""),
                          ssl=use_ssl, folder=str(config.get("MAILIN_FOLDER") or "INBOX"),
                          addresses=Path(config.get("MAILIN_ADDRESSES") or ADDRESSES))


# ---- who sent it ------------------------------------------------------------------------------------------


def unit_addresses(path: Path = ADDRESSES) -> dict[str, set[str]]:
    """The addresses the data file lists for units: address (lower case) → units."""
    if not path.exists():
        return {}
    doc = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not all(isinstance(v, list) and all(isinstance(a, str) for a in v)
                                            for v in doc.values()):
        raise ValueError(f"{path}：应为 {{\"单位编号\": [\"电子邮箱\", …]}}")
    listed: dict[str, set[str]] = defaultdict(set)
    for unit, addresses in doc.items():
        for address in addresses:
            listed[address.strip().lower()].add(unit)
    return dict(listed)


def units_of(store: Store, address: str, listed: Mapping[str, set[str]], cat: Catalog | None = None) -> set[str]:
    """The units an address belongs to: the e-mail of an enabled account of the unit, or listed for it in the data
    file (case-insensitive); only units that send files to some campaign."""
    if not address:
        return set()
    with store.session() as s:
        accounts = set(s.scalars(select(User.entity_id).where(
            func.lower(func.trim(User.email)) == address, User.role == "recommender", User.disabled.is_(False),
            User.entity_id.is_not(None))))
    return {unit for unit in accounts | listed.get(address, set()) if unit_campaigns(unit, cat)}


# ---- taking its files -------------------------------------------------------------------------------------


def _campaign_for(data: bytes, name: str, campaigns: list[str], received: dt.datetime, cat: Catalog) -> str:
    """The unit's only campaign; with several, the one the file identifies itself as, else the first."""
    if len(campaigns) == 1:
        return campaigns[0]
    found = parse(data, name, received_at=received, cat=cat).campaign
    return found if found in campaigns else campaigns[0]


def _refused(shown: str, code: str, text: str) -> dict[str, Any]:
    return {"name": shown, "upload_id": None, "submission_id": None, "outcome": "refused", "status": "unreadable",
            "code": code, "message": text}


def _kinds(campaign: str, cat: Catalog) -> list[dict[str, Any]]:
    return cat.campaign(campaign).data.get("attachments", [])


@dataclass(frozen=True)
class _Held:
    """A document that is no form but may be one of the campaign's attachments (the 政策文件 of a 工作总结)."""

    shown: str
    filename: str
    data: bytes
    campaign: str
    media: str


class _Taking:
    """The files of one message received for one unit: forms first, then the documents that are no form attached
    to the form they belong to (the message's own, else the unit's one current submission of that form)."""

    def __init__(self, store: Store, unit: str, uploader: str, received: dt.datetime, cat: Catalog) -> None:
        self.store, self.unit, self.uploader, self.received, self.cat = store, unit, uploader, received, cat
        self.campaigns = unit_campaigns(unit, cat)
        self.results: list[dict[str, Any]] = []
        self.held: list[_Held] = []

    def add(self, shown: str, data: bytes) -> None:
        filename = shown.rsplit("!", 1)[-1].rsplit("/", 1)[-1]
        campaign = _campaign_for(data, filename, self.campaigns, self.received, self.cat)
        parsed = parse(data, filename, campaign=campaign, received_at=self.received, cat=self.cat,
                       submitter=self.unit)
        media = media_of(data, filename)
        if (not parsed.readable and {p.code for p in parsed.errors} <= NOT_A_FORM and media
                and any(media in kind.get("types", []) for kind in _kinds(campaign, self.cat))):
            self.held.append(_Held(shown, filename, data, campaign, media))
            return
        self.results.append(self._receive(shown, filename, data, campaign, parsed))

    def _receive(self, shown: str, filename: str, data: bytes, campaign: str, parsed: Any = None) -> dict[str, Any]:
        try:
            got = receive(self.store, data, filename, campaign_id=campaign, recommender_id=self.unit,
                          uploader=self.uploader, channel="mail", received_at=self.received, cat=self.cat,
                          parsed=parsed)
        except IntakeError as exc:
            return _refused(shown, exc.code, exc.message)
        item = {**got.to_dict(), "name": shown, "campaign_id": campaign}
        if got.outcome == "duplicate" and got.submission_id:
            self._own(item)
        return item

    def _own(self, item: dict[str, Any]) -> None:
        """A "duplicate" that this very message filed, in a round that died before writing down its results, is
        told as what it is: this message's file."""
        with self.store.session() as s:
            sub = s.get(Submission, item["submission_id"])
            first = s.get(Upload, sub.upload_id)
            if (first.channel, first.uploader, aware(first.received_at)) != ("mail", self.uploader, self.received):
                return
            code, text = first_reason(sub.report, sub.cross_problems, attachment_problems(sub, self.cat))
            item.update(outcome="new", status=sub.status, code=code, message=text, upload_id=sub.upload_id)

    def _target(self, held: _Held) -> tuple[int, dict[str, Any]] | None:
        """The one submission and attachment kind a held document belongs to, or None."""
        kinds = [k for k in _kinds(held.campaign, self.cat) if held.media in k.get("types", [])]
        mine = [r["submission_id"] for r in self.results
                if r.get("submission_id") and r.get("campaign_id") == held.campaign]
        with self.store.session() as s:
            current = (Submission.is_current.is_(True), Submission.readable.is_(True),
                       Submission.recommender_id == self.unit, Submission.campaign_id == held.campaign)
            subs = list(s.execute(select(Submission.id, Submission.form_id).where(*current, Submission.id.in_(mine))))
            if not mine:
                subs = list(s.execute(select(Submission.id, Submission.form_id).where(
                    *current, Submission.status.in_(sorted(COUNTED)))))
        pairs = [(sub_id, kind) for sub_id, form in subs for kind in kinds if form in kind.get("for_forms", [form])]
        return pairs[0] if len(pairs) == 1 else None

    def attach_held(self) -> None:
        """Each held document attached where it belongs; one that belongs nowhere (or to several) is received as
        an upload and gets its verdict as one."""
        touched = False
        for held in self.held:
            target = self._target(held)
            if target is None:
                self.results.append(self._receive(held.shown, held.filename, held.data, held.campaign))
                continue
            sub_id, kind = target
            try:
                add_attachment(self.store, sub_id, kind["id"], held.filename, held.data, self.uploader, self.cat)
            except IntakeError as exc:
                self.results.append(_refused(held.shown, exc.code, exc.message))
                continue
            touched = True
            self.results.append({"name": held.shown, "upload_id": None, "submission_id": sub_id,
                                 "outcome": "attached", "status": "", "code": "", "campaign_id": held.campaign,
                                 "message": f"已作为第 {sub_id} 号报送的附件“{kind['title']}”收下。"})
        if touched:  # an attachment may settle a form's status (a 工作总结 no longer missing its 政策文件)
            with self.store.session() as s:
                for item in self.results:
                    if item.get("submission_id") and item["outcome"] in ("new", "superseded"):
                        sub = s.get(Submission, item["submission_id"])
                        item["status"] = sub.status
                        item["code"], item["message"] = first_reason(sub.report, sub.cross_problems,
                                                                     attachment_problems(sub, self.cat))


def take(store: Store, mail_id: int, cat: Catalog | None = None, now: dt.datetime | None = None) -> bool:
    """Receive the files of a message for its unit, once. False when there is nothing to do: its files were
    received already, it has no unit yet, or another live process is receiving them."""
    cat = cat or catalog()
    now = aware(now or utcnow())
    with store.session.begin() as s:
        claimed = s.execute(update(MailMessage).where(
            MailMessage.id == mail_id, MailMessage.state.in_(("taken", "assigned")), MailMessage.unit.is_not(None),
            MailMessage.taken_at.is_(None), or_(MailMessage.claimed_at.is_(None), MailMessage.claimed_at < now - CLAIM))
            .values(claimed_at=now)).rowcount
        if not claimed:
            return False
        row = s.get(MailMessage, mail_id)
        unit, raw_sha, sender, received = row.unit, row.raw_sha256, row.sender, aware(row.received_at)
    uploader = f"mail:{sender}"[:80] if sender else "mail"
    taking = _Taking(store, unit, uploader, received, cat)
    with tempfile.TemporaryDirectory(prefix="jth-mailin-") as folder:
        for part in attachments(read_message(store.files.get(raw_sha))):
            for shown, entry in entries(part, Path(folder)):
                if entry.code:
                    taking.results.append(_refused(shown, entry.code, entry.message))
                else:
                    taking.add(shown, entry.data)
                with store.session.begin() as s:  # still at it: a zip of hundreds of files takes a while
                    s.execute(update(MailMessage).where(MailMessage.id == mail_id).values(claimed_at=utcnow()))
    taking.attach_held()
    results = taking.results
    with store.session.begin() as s:
        row = s.get(MailMessage, mail_id)
        row.results, row.upload_ids = results, [r["upload_id"] for r in results if r.get("upload_id")]
        row.taken_at = utcnow()
        if row.reply_state == "held":
            row.reply_state, row.reply_next_at = "pending", row.taken_at
        audit(s, uploader, "mail_taken", f"mail:{mail_id}", unit=unit, files=len(results),
              submissions=sorted({r["submission_id"] for r in results if r.get("submission_id")}))
    return True


def take_waiting(store: Store, cat: Catalog | None = None, now: dt.datetime | None = None) -> int:
    """Receive the files of every message that has a unit and whose files are not received yet: assigned by staff,
    or left half-way by a process that died."""
    now = aware(now or utcnow())
    with store.session() as s:
        waiting = list(s.scalars(select(MailMessage.id).where(
            MailMessage.state.in_(("taken", "assigned")), MailMessage.unit.is_not(None),
            MailMessage.taken_at.is_(None), or_(MailMessage.claimed_at.is_(None), MailMessage.claimed_at < now - CLAIM))
            .order_by(MailMessage.id)))
    return sum(take(store, mail_id, cat, now) for mail_id in waiting)


def record(store: Store, raw: bytes, *, received_at: dt.datetime | None = None, size: int | None = None,
           truncated: bool = False, max_bytes: int = MAX_MESSAGE_BYTES, listed: Mapping[str, set[str]] | None = None,
           own: Collection[str] = (), cat: Catalog | None = None) -> tuple[str, int | None]:
    """Write down one message of the mailbox and receive its files when its sender's unit is known.

    ``truncated``: ``raw`` holds only the headers of a message of ``size`` bytes, too large to read. Returns the
    outcome — taken | unassigned | failed | duplicate (taken before) | busy (another process is at it) — and the
    message's id. Once it returns anything but busy, the message may be flagged as done on the server.
    """
    cat = cat or catalog()
    listed = unit_addresses() if listed is None else listed
    msg = read_message(raw)
    key = message_key(msg, raw)
    with store.session() as s:
        known = s.scalar(select(MailMessage).where(MailMessage.message_id == key))
    if known is not None:
        if known.state in ("taken", "assigned") and known.taken_at is None:  # left half-way
            return ("taken" if take(store, known.id, cat) else "busy"), known.id
        return "duplicate", known.id
    name, sender = sender_of(msg)
    size = len(raw) if size is None else size
    parts = [] if truncated else attachments(msg)
    units = units_of(store, sender, listed, cat)
    unit = next(iter(units)) if len(units) == 1 else None
    state, error = "taken", ""
    if truncated:
        state, error = "failed", message("MAIL_TOO_LARGE", size_mb=size / MiB, limit=f"{max_bytes / MiB:g}")
    elif not parts:
        state, error = "failed", message("MAIL_NO_ATTACHMENT")
    elif unverified(msg):
        state, unit, error = "unassigned", None, message("MAIL_SENDER_UNKNOWN", "unverified", address=sender)
    elif len(units) > 1:
        state, error = "unassigned", message("MAIL_SENDER_UNKNOWN", "ambiguous", address=sender,
                                             units="、".join(sorted(units)))
    elif unit is None:
        state, error = "unassigned", message("MAIL_SENDER_UNKNOWN", address=sender or "（无）")
    # Unknown senders hear nothing until staff assign the message; a failed message is answered to a unit's address.
    reply = "" if automatic(msg, sender, own) or (state == "failed" and unit is None) else "held"
    if state == "failed" and reply:
        reply = "pending"
    sha = store.files.put(raw)
    try:
        with store.session.begin() as s:
            if s.get(StoredFile, sha) is None:
                s.add(StoredFile(sha256=sha, size=len(raw)))
                s.flush()
            now = utcnow()
            row = MailMessage(message_id=key, sender=sender, sender_name=name, subject=header(msg, "Subject")[:400],
                              received_at=aware(received_at or now), size=size, raw_sha256=sha, state=state,
                              unit=unit, error=error, created_at=now, reply_state=reply,
                              reply_next_at=now if reply == "pending" else None, upload_ids=[], results=[])
            s.add(row)
            s.flush()
            audit(s, f"mail:{sender}"[:80] if sender else "mail", "mail_in", f"mail:{row.id}", message_id=key[:200],
                  state=state, unit=unit, files=len(parts))
            mail_id = row.id
    except IntegrityError:  # another process wrote it down at this moment
        return "busy", None
    if state == "taken":
        take(store, mail_id, cat)
    return state, mail_id


# ---- a round ----------------------------------------------------------------------------------------------


@dataclass
class Fetched:
    """What a round did."""

    taken: int = 0
    unassigned: int = 0
    failed: int = 0
    duplicate: int = 0
    busy: int = 0  # left for a later round: another process is at it, or it could not be handled now
    resumed: int = 0  # messages with a unit whose files were received in this round after all (assigned, resumed)
    replies_sent: int = 0
    replies_failed: int = 0


def connect_imap(settings: MailinSettings) -> IMAPClient:
    """The mailbox, signed in: IMAPS, or STARTTLS when the server offers it, with the system's certificates."""
    context = ssl.create_default_context()
    client = IMAPClient(settings.host, settings.port, ssl=settings.ssl, ssl_context=context if settings.ssl else None,
                        timeout=settings.timeout)
    try:
        if not settings.ssl and b"STARTTLS" in client.capabilities():
            client.starttls(context)
        client.login(settings.user, settings.password)
    except BaseException:
        client.shutdown()
        raise
    client.normalise_times = False  # INTERNALDATE with its offset, not in this machine's zone
    return client


def _read_one(client: IMAPClient, uid: int, max_bytes: int) -> tuple[bytes, dt.datetime | None, int, bool] | None:
    """A message's bytes (only its headers when it is too large), when the mailbox received it, its size."""
    info = client.fetch([uid], ["RFC822.SIZE", "INTERNALDATE"]).get(uid)
    if info is None:  # expunged meanwhile
        return None
    size, arrived = int(info.get(b"RFC822.SIZE") or 0), info.get(b"INTERNALDATE")
    truncated = size > max_bytes
    part = "BODY.PEEK[HEADER]" if truncated else "BODY.PEEK[]"
    body = client.fetch([uid], [part]).get(uid, {})
    raw = body.get(b"BODY[HEADER]" if truncated else b"BODY[]")
    return (raw, arrived, size, truncated) if raw is not None else None


def fetch(store: Store, settings: MailinSettings, mail: MailSettings | None = None, *, cat: Catalog | None = None,
          limit: int = BATCH) -> Fetched:
    """One round: read the mailbox's unseen messages (up to ``limit``), take each once, flag it seen after it is
    written down and its files are received; then receive the files of assigned messages and send due replies
    (when ``mail`` — the notices' SMTP settings — is given). IMAP errors propagate (OSError, IMAPClientError)."""
    cat = cat or catalog()
    listed = unit_addresses(settings.addresses)
    own = {a.lower() for a in (mail.sender if mail else "", settings.user) if "@" in a}  # never answer ourselves
    done = Fetched()
    client = connect_imap(settings)
    try:
        client.select_folder(settings.folder)
        for uid in client.search(["UNSEEN"])[:limit]:
            read = _read_one(client, uid, settings.max_bytes)
            if read is None:
                continue
            raw, arrived, size, truncated = read
            try:
                outcome, _mail_id = record(store, raw, received_at=arrived, size=size, truncated=truncated,
                                           max_bytes=settings.max_bytes, listed=listed, own=own, cat=cat)
            except Exception:  # one message the platform cannot handle must not hold up the others
                log.exception("mail uid %s not taken; it stays unseen and is tried again next round", uid)
                outcome = "busy"
            setattr(done, outcome, getattr(done, outcome) + 1)
            if outcome != "busy":
                client.add_flags([uid], [SEEN])
    finally:
        try:
            client.logout()
        except Exception:  # the connection is gone already: nothing left to close politely
            client.shutdown()
    done.resumed = take_waiting(store, cat)
    if mail is not None:
        done.replies_sent, done.replies_failed = send_replies(store, mail, cat=cat)
    return done


def assign(store: Store, actor: Actor, mail_id: int, unit_id: str, mail: MailSettings | None = None,
           cat: Catalog | None = None) -> None:
    """Staff assign an unassigned message to a unit: the decision is recorded and audited, the message's files are
    received for the unit, and its sender gets the reply (when a mail server is configured)."""
    assign_unit(store, actor, mail_id, unit_id, cat)
    take(store, mail_id, cat)
    if mail is not None:
        send_replies(store, mail, cat=cat)
