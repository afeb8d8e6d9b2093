"""Taking a file out: the original as sent, an attachment, the marked copy. Who may, and one audit entry, here for
the pages, the API and the CLI alike."""

from __future__ import annotations

from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.actions.lifecycle import load
from service.actions.marked_copy import marked_copy
from service.actions.scan_check import pictures_of
from service.store import Store
from service.store.audit import audit


def original_file(store: Store, submission_id: int, actor: Actor) -> tuple[bytes, str]:
    """The bytes as they were uploaded and their (cleaned) name."""
    with store.session.begin() as s:
        sub = load(s, submission_id, actor, read_only=True)
        sha, name = sub.sha256, sub.original_name
        audit(s, actor.username, "download", f"submission:{sub.id}", sha256=sha)
    return store.files.get(sha), name


def attachment_file(store: Store, submission_id: int, attachment_id: int, actor: Actor) -> tuple[bytes, str]:
    with store.session.begin() as s:
        sub = load(s, submission_id, actor, read_only=True)
        att = next((a for a in sub.attachments if a.id == attachment_id), None)
        if att is None:
            raise IntakeError("ATTACHMENT_NOT_FOUND", submission=submission_id, attachment=attachment_id)
        sha, name = att.sha256, att.original_name
        audit(s, actor.username, "download", f"attachment:{att.id}", sha256=sha)
    return store.files.get(sha), name


def cell_picture(store: Store, submission_id: int, sha256: str, actor: Actor) -> bytes:
    """The picture of a value read from a scan (its cell), for the review item about it: only the pictures this
    submission's report names, to those who may read the submission (SCAN_PICTURE_NOT_FOUND otherwise)."""
    with store.session() as s:
        sub = load(s, submission_id, actor, read_only=True)
        named = set(pictures_of(sub.report).values())
    if sha256 not in named:
        raise IntakeError("SCAN_PICTURE_NOT_FOUND", submission=submission_id)
    return store.files.get(sha256)


def marked_file(store: Store, submission_id: int, actor: Actor) -> tuple[bytes, str]:
    """The file with each problem as a comment at its place (Word) or on its cell (Excel)."""
    with store.session.begin() as s:
        sub = load(s, submission_id, actor, read_only=True)
        content, name = marked_copy(store, sub)
        audit(s, actor.username, "download_marked", f"submission:{sub.id}")
    return content, name
