"""A comment thread per submission between its unit and the staff. The thread belongs to the form and group (or
the unit's sheet), so it follows every version; each message names the version it was written on."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.actions.lifecycle import load
from service.actions.shapes import iso
from service.store import Store
from service.store.audit import audit
from service.store.models import Comment, Submission

MAX_COMMENT = 2000


def _thread(sub: Submission):
    return (Comment.campaign_id == sub.campaign_id, Comment.recommender_id == sub.recommender_id,
            Comment.form_id == sub.form_id, Comment.entity_key == sub.entity_key)


def add_comment(store: Store, submission_id: int, actor: Actor, body: str) -> dict[str, Any]:
    body = (body or "").strip()
    with store.session.begin() as s:
        sub = load(s, submission_id, actor)  # another unit's submission is absent, whatever the body
        if not body:
            raise IntakeError("COMMENT_EMPTY")
        if len(body) > MAX_COMMENT:
            raise IntakeError("COMMENT_TOO_LONG", limit=MAX_COMMENT, length=len(body))
        c = Comment(campaign_id=sub.campaign_id, recommender_id=sub.recommender_id, form_id=sub.form_id,
                    entity_key=sub.entity_key, submission_id=sub.id, author=actor.username,
                    author_role="staff" if actor.is_staff else "unit", body=body)
        s.add(c)
        s.flush()
        audit(s, actor.username, "comment", f"submission:{sub.id}", comment=c.id)
        return comment_shape(c, sub.version)


def comments(store: Store, submission_id: int, actor: Actor) -> list[dict[str, Any]]:
    """The thread, oldest first."""
    with store.session() as s:
        sub = load(s, submission_id, actor, read_only=True)
        versions = dict(s.execute(select(Submission.id, Submission.version).where(
            Submission.campaign_id == sub.campaign_id, Submission.recommender_id == sub.recommender_id,
            Submission.form_id == sub.form_id, Submission.entity_key == sub.entity_key)).all())
        rows = s.scalars(select(Comment).where(*_thread(sub)).order_by(Comment.id))
        return [comment_shape(c, versions.get(c.submission_id)) for c in rows]


def comment_shape(c: Comment, version: int | None) -> dict[str, Any]:
    return {"id": c.id, "submission_id": c.submission_id, "version": version, "author": c.author,
            "author_role": c.author_role, "body": c.body, "created_at": iso(c.created_at)}
