"""Reading an e-mail the mail-in mailbox received (:mod:`service.jobs.mailin`): who sent it, whether a person did,
whether the receiving server found the sender forged, what makes it once-only, and the files it carries — a zip's
entries read as bulk ingest reads them, each refused with its own verdict when unsafe, nested or too large.

Everything here reads hostile bytes: a header the parser cannot make sense of reads as absent, never as an error.
"""

from __future__ import annotations

import email
import hashlib
import mimetypes
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr
from pathlib import Path

from service.jobs.ingest import Entry, zip_entries

SIGNATURES = frozenset({"application/pkcs7-signature", "application/x-pkcs7-signature", "application/pgp-signature"})
AUTOMATIC_SENDERS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply")


def read_message(raw: bytes) -> EmailMessage:
    """The message of ``raw`` (headers read lazily, leniently: defects are noted, not raised)."""
    return email.message_from_bytes(raw, policy=policy.default)


def text(value: object) -> str:
    """Header text fit to store and show: on one line, no control characters, and bytes that were no text in any
    charset (kept by the parser as surrogates) replaced."""
    cleaned = str(value).encode("utf-8", "replace").decode("utf-8")
    return " ".join("".join(c if c.isprintable() else " " for c in cleaned).split())


def header(msg: EmailMessage, name: str) -> str:
    """A header's text on one line, "" when absent or so broken that the parser gives up on it."""
    try:
        value = msg.get(name)
    except Exception:  # hostile headers can break the parser's structured reading
        return ""
    return text(value) if value is not None else ""


def message_key(msg: EmailMessage, raw: bytes) -> str:
    """What makes a message once-only: its Message-ID, else the digest of its bytes."""
    value = header(msg, "Message-ID")
    if value and len(value) <= 400:
        return value
    return "sha256:" + hashlib.sha256(value.encode() if value else raw).hexdigest()


def sender_of(msg: EmailMessage) -> tuple[str, str]:
    """The From header's name and address (lower case; "" when it has none)."""
    try:
        addresses = getattr(msg["From"], "addresses", ())
        name, address = (addresses[0].display_name, addresses[0].addr_spec) if addresses else ("", "")
    except Exception:  # hostile headers can break the parser's structured reading
        name, address = parseaddr(header(msg, "From"))
    address = text(address).lower()
    return text(name)[:200], address[:200] if "@" in address and " " not in address else ""


def automatic(msg: EmailMessage, sender: str, own: Collection[str] = ()) -> bool:
    """A message no person wrote (RFC 3834): bounces, out-of-office answers, lists, the platform's own mail."""
    auto = header(msg, "Auto-Submitted").lower()
    if (auto and auto != "no") or header(msg, "Precedence").lower() in ("bulk", "junk", "list"):
        return True
    return (not sender or sender in own or bool(header(msg, "List-Id"))
            or sender.partition("@")[0].startswith(AUTOMATIC_SENDERS))


def unverified(msg: EmailMessage) -> bool:
    """The mailbox's own server found the From domain failing DMARC (the topmost Authentication-Results, which the
    receiving server adds). Only a failure counts: a forger writes no failure of its own."""
    try:
        results = msg.get_all("Authentication-Results") or []
    except Exception:  # hostile headers can break the parser's structured reading
        return False
    return bool(results) and re.search(r"\bdmarc\s*=\s*fail\b", str(results[0]).lower()) is not None


# ---- what it carries --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One attached file."""

    name: str
    data: bytes


def _name(part: EmailMessage, n: int) -> str:
    try:
        name = part.get_filename()
    except Exception:  # hostile headers can break the parser's structured reading
        name = None
    name = text(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name or f"附件{n}{mimetypes.guess_extension(part.get_content_type()) or ''}"


def attachments(msg: EmailMessage, depth: int = 0) -> list[Part]:
    """The files a message carries, those of a forwarded message attached to it too; not the text, pictures shown
    in the text (a signature's logo) or a cryptographic signature."""
    if not msg.is_multipart():
        if depth == 0 and msg.get_content_disposition() == "attachment":  # a message that is one file
            return [Part(_name(msg, 1), msg.get_payload(decode=True) or b"")]
        return []
    out: list[Part] = []
    for part in msg.iter_attachments():
        ctype = part.get_content_type()
        if part.is_multipart() or ctype == "message/rfc822":
            if depth < 3:
                inner = part.get_payload(0) if ctype == "message/rfc822" else part
                out += attachments(inner, depth + 1) if isinstance(inner, EmailMessage) else []
            continue
        if ctype in SIGNATURES or (part.get_content_maintype() == "image" and part.get("Content-ID")
                                   and part.get_content_disposition() != "attachment"):
            continue
        out.append(Part(_name(part, len(out) + 1), part.get_payload(decode=True) or b""))
    return out


def entries(part: Part, folder: Path) -> Iterator[tuple[str, Entry]]:
    """The files of one attachment with the names the reply shows: itself, or a zip's entries (``包.zip!a.docx``)
    read as bulk ingest reads them, each refused with its own verdict when unsafe, nested or too large."""
    if not part.name.lower().endswith(".zip"):
        yield part.name, Entry(part.name, data=part.data)
        return
    path = folder / hashlib.sha256(part.data).hexdigest()
    path.write_bytes(part.data)
    try:
        for entry in zip_entries(path, label=part.name):
            yield (part.name if entry.name == part.name else f"{part.name}!{entry.name}"), entry
    finally:
        path.unlink(missing_ok=True)
