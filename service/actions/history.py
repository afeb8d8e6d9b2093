"""A submission's history: every version of the same form for the same group, with what changed field by field."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from service.actions.intake import IntakeError
from service.store import Store
from service.store.models import Submission


def history(store: Store, submission_id: int) -> list[dict[str, Any]]:
    """Every version of the submission's form for the same group, oldest first, with field-level changes."""
    with store.session() as s:
        sub = s.get(Submission, submission_id)
        if sub is None:
            raise IntakeError("SUBMISSION_NOT_FOUND", submission=submission_id)
        versions = list(s.scalars(select(Submission).where(
            Submission.campaign_id == sub.campaign_id, Submission.recommender_id == sub.recommender_id,
            Submission.form_id == sub.form_id, Submission.entity_key == sub.entity_key).order_by(Submission.version)))
        out, previous = [], None
        for v in versions:
            out.append({"id": v.id, "version": v.version, "is_current": v.is_current, "status": v.status,
                        "file": v.original_name, "sha256": v.sha256, "received_at": v.received_at.isoformat(),
                        "changes": diff(previous.record if previous else {}, v.record) if previous else []})
            previous = v
        return out


def diff(old: dict, new: dict, prefix: str = "") -> list[dict[str, Any]]:
    """Field-level changes between two records (paths like members.3.name)."""
    changes = []
    for key in sorted(set(old) | set(new), key=str):
        a, b = old.get(key), new.get(key)
        path = f"{prefix}{key}"
        if isinstance(a, list) and isinstance(b, list) and (a or b) and all(
                isinstance(x, dict) for x in [*a, *b]):
            for i in range(max(len(a), len(b))):
                changes += diff(a[i] if i < len(a) else {}, b[i] if i < len(b) else {}, f"{path}.{i}.")
        elif isinstance(a, dict) and isinstance(b, dict):
            changes += diff(a, b, path + ".")
        elif a != b:
            changes.append({"path": path, "before": a, "after": b})
    return changes
