"""The audit log: who did what and when (uploads, status changes, review decisions, exports)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.store.models import AuditEntry


def audit(s: Session, actor: str, action: str, target: str = "", **detail: Any) -> None:
    s.add(AuditEntry(actor=actor, action=action, target=target, detail=detail))
