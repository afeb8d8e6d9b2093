"""Review decisions: a reviewer accepts a flagged value (or a candidate), corrects it, or takes in a document-level
item. The original stays as read; the decision, who took it and why are kept beside it and audited here, once, for
the pages, the API and the CLI alike."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from service.actions.decisions import DOCUMENT_DECISION, get_path, reapply, set_path
from service.actions.intake import (
    IntakeError,
    attachment_problems,
    document_level,
    effective_status,
    refresh_related,
)
from service.actions.notices import notify_accepted
from service.forms.catalog import Catalog, Form, catalog
from service.store import Store
from service.store.audit import audit
from service.store.models import ReviewDecision, Submission
from service.validate.schema import check_record


def check_review_path(form: Form | None, record: dict[str, Any], path: Any) -> None:
    """The path must name a field of the form (``contact_email``) or a cell of one of its tables
    (``members.3.name``, at most one row past the last): what every surface's review goes through, so that no
    path can make a record grow by thousands of rows."""
    if form is None:
        raise IntakeError("REVIEW_NO_FORM", "api")
    if not isinstance(path, str) or not path:
        raise IntakeError("REVIEW_PATH_UNKNOWN", "missing")
    fields = {f.path: f for f in form.fields}
    parts = path.split(".")
    if len(parts) == 1 and path in fields and not fields[path].array:
        return
    if len(parts) == 3 and f"{parts[0]}[].{parts[2]}" in fields and parts[1].isascii() and parts[1].isdigit():
        rows = record.get(parts[0])
        rows = rows if isinstance(rows, list) else None
        index = int(parts[1])
        if rows is not None and (index < len(rows) and isinstance(rows[index], dict) or index == len(rows)):
            return
        if rows is None and index == 0 and parts[0] not in record:
            return
        raise IntakeError("REVIEW_PATH_UNKNOWN", "row", table=parts[0], row=index + 1, rows=len(rows or []))
    raise IntakeError("REVIEW_PATH_UNKNOWN", form=form.title, path=path[:100])


def _decide_field(s: Session, sub: Submission, path: str, action: str, user: str, value: Any, note: str,
                  cat: Catalog) -> None:
    """Accept a flagged field's candidate (or the value read) or correct it; the record is checked again."""
    check_review_path(cat.form(sub.campaign_id, sub.form_id) if sub.form_id else None, sub.record or {}, path)
    flagged = {p["path"]: p for p in sub.report.get("warnings", []) + sub.report.get("errors", []) if p.get("path")}
    if path not in flagged and action == "accept":
        raise IntakeError("REVIEW_NOT_FLAGGED", path=path)
    item = flagged.get(path, {})
    if action == "correct" and value in (None, ""):
        raise IntakeError("REVIEW_VALUE_REQUIRED")
    if action == "accept":
        candidates = item.get("candidates") or []
        if value is None and not candidates:
            value = get_path(sub.record, path)  # nothing to choose from: the field stays as read (maybe empty)
        elif value is None:
            if len(candidates) != 1:
                raise IntakeError("REVIEW_VALUE_REQUIRED", "candidates")
            value = candidates[0]
        elif candidates and value not in candidates:
            raise IntakeError("REVIEW_NOT_A_CANDIDATE", value=value, candidates="、".join(map(str, candidates)))
    record = set_path(sub.record, path, value) if value is not None else dict(sub.record)
    if action == "correct":
        _check_correction(sub, record, path, cat)
    original = get_path(sub.report.get("record", {}), path)
    s.add(ReviewDecision(submission_id=sub.id, path=path, action=action, original=original, value=value,
                         note=note, user=user))
    s.flush()
    before = sub.status
    reapply(s, sub, cat)
    sub.status = effective_status(sub, cat)
    audit(s, user, "review", f"submission:{sub.id}", path=path, decision=action, original=original, value=value,
          before=before, after=sub.status, note=note)


def _check_correction(sub: Submission, record: dict[str, Any], path: str, cat: Catalog) -> None:
    """A correction must itself be a valid value: a reviewer's typo is refused, not stored as the record."""
    try:
        form = cat.form(sub.campaign_id, sub.form_id or "")
    except LookupError:
        raise IntakeError("REVIEW_NO_FORM") from None
    wrong = [p for p in check_record(form, record) if p.path == path]
    if wrong:
        raise IntakeError("REVIEW_VALUE_INVALID", reason=wrong[0].message)


def _acknowledge(s: Session, sub: Submission, path: str, action: str, user: str, note: str, cat: Catalog) -> None:
    """A document-level review item (late, stamp against content, two copies of the sheet, a name close to a
    first-batch group …) accepted as it is: the value read stands."""
    code = path[len(DOCUMENT_DECISION):]
    items = [*sub.report.get("warnings", []), *sub.cross_problems, *attachment_problems(sub, cat)]
    if action != "accept" or not any(document_level(p) and p["code"] == code for p in items):
        raise IntakeError("REVIEW_NOT_FLAGGED", "document", code=code)
    s.add(ReviewDecision(submission_id=sub.id, path=path, action=action, original=None, value=None, note=note,
                         user=user))


def decide(store: Store, submission_id: int, path: str, action: str, user: str, value: Any = None, note: str = "",
           cat: Catalog | None = None) -> Submission:
    """A reviewer accepts a flagged field's candidate (or the value as read) or corrects it; the original stays.

    A path ``#CODE`` accepts a document-level review item as it is (a late submission taken in, a stamp that
    disagreed with the content checked): the record does not change, the status no longer waits for it.
    """
    cat = cat or catalog()
    if action not in ("accept", "correct"):
        raise IntakeError("REVIEW_ACTION")
    with store.session.begin() as s:
        sub = s.get(Submission, submission_id)
        if sub is None:
            raise IntakeError("SUBMISSION_NOT_FOUND", submission=submission_id)
        if path.startswith(DOCUMENT_DECISION):
            _acknowledge(s, sub, path, action, user, note, cat)
            sub.report = {**sub.report, "decisions": sorted({*sub.report.get("decisions", []), path})}
            before, sub.status = sub.status, effective_status(sub, cat)
            audit(s, user, "review", f"submission:{sub.id}", path=path, decision=action, before=before,
                  after=sub.status, note=note)
        else:
            _decide_field(s, sub, path, action, user, value, note, cat)
        notify_accepted(s, sub)
        campaign_id, recommender_id = sub.campaign_id, sub.recommender_id
    refresh_related(store, campaign_id, recommender_id, cat)
    with store.session() as s:
        return s.get(Submission, submission_id)
