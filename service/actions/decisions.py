"""Reviewers' decisions applied to a submission, and carried to its next version.

The values as read stay in ``report["record"]``; ``record`` is always those values with every decision applied,
in the order they were taken, so that the report, the exports, the 汇总表 and the 资料汇编 all show what was decided.
A decision carries over to a new version whose value at its path is unchanged (a document-level one, ``#CODE``,
when the whole record is unchanged): identical content sent again, as another format or a re-save, keeps every
decision and its author.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.actions.scan_check import kept
from service.forms.catalog import Catalog
from service.outputs.decision_titles import DOCUMENT_DECISION
from service.parse.pipeline import revalidate
from service.problems.report import ParseResult
from service.store.audit import audit
from service.store.models import ReviewDecision, Submission


def decisions_of(s: Session, submission_id: int) -> list[ReviewDecision]:
    return list(s.scalars(select(ReviewDecision).where(ReviewDecision.submission_id == submission_id)
                          .order_by(ReviewDecision.id)))


def reapply(s: Session, sub: Submission, cat: Catalog) -> None:
    """Rebuild ``sub.record`` and its report from the values as read and all its decisions, and check it again."""
    decisions = decisions_of(s, sub.id)
    as_read = sub.report.get("record", sub.record) or {}
    record = copy.deepcopy(as_read)
    for d in decisions:
        if not d.path.startswith(DOCUMENT_DECISION) and d.value is not None:
            record = set_path(record, d.path, d.value)
    paths = {d.path for d in decisions}
    result = ParseResult.from_dict(sub.report)
    result.record = record
    received = sub.received_at
    if received is not None and received.tzinfo is None:  # SQLite keeps no offset; the store writes UTC
        received = received.replace(tzinfo=dt.UTC)
    revalidate(result, cat, {p for p in paths if not p.startswith(DOCUMENT_DECISION)}, received_at=received,
               submitter=sub.recommender_id)
    report = result.to_dict()
    report["warnings"] += [p for p in kept(sub.report) if p not in report["warnings"]]  # the stamped copy's notes
    report["record"] = as_read
    report["decisions"] = sorted(paths)
    sub.report = report
    sub.record = record


def carry_decisions(s: Session, old: Submission, new: Submission, cat: Catalog) -> list[str]:
    """Copy ``old``'s decisions that still apply to ``new`` (same value as read at the path, or the same record for
    a document-level decision) and apply them; the paths carried, audited once."""
    if not new.readable or not new.form_id or new.form_id != old.form_id:
        return []
    old_read, new_read = old.report.get("record") or {}, new.report.get("record") or {}
    same = old_read == new_read
    carried = []
    for d in decisions_of(s, old.id):
        if d.path.startswith(DOCUMENT_DECISION):
            keep = same
        else:
            keep = same or get_path(new_read, d.path) == d.original
        if keep:
            s.add(ReviewDecision(submission_id=new.id, path=d.path, action=d.action, original=d.original,
                                 value=d.value, note=d.note, user=d.user, created_at=d.created_at,
                                 carried_from=d.carried_from or old.id))
            carried.append(d.path)
    if carried:
        s.flush()
        reapply(s, new, cat)
        audit(s, "system", "carry_decisions", f"submission:{new.id}", source=old.id, paths=carried)
    return carried


def _split(path: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in path.split(".")]


def get_path(record: dict, path: str) -> Any:
    node: Any = record
    for part in _split(path):
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def set_path(record: dict, path: str, value: Any) -> dict:
    """A copy of ``record`` with ``value`` at ``path`` (rows added up to the index a path names)."""
    record = copy.deepcopy(record)
    parts = _split(path)
    node: Any = record
    for part, nxt in zip(parts, parts[1:], strict=False):
        if isinstance(part, int):
            while len(node) <= part:
                node.append({})
            node = node[part]
        else:
            node = node.setdefault(part, [] if isinstance(nxt, int) else {})
    last = parts[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value
    return record
