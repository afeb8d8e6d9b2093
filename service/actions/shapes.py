"""One JSON shape per resource, for the pages' JSON and the API alike: a submission as listed, a submission in
detail (with the decisions that stick, its state and who set it), times in ISO 8601 with their offset."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.actions.decisions import decisions_of
from service.actions.intake import acknowledged, attachment_problems, document_level_done
from service.actions.scan_check import CHECK, picture_for
from service.forms.catalog import Catalog, Form, catalog
from service.outputs.decision_titles import decision_title
from service.store.lifecycle import label, transitions
from service.store.models import ReviewDecision, Submission

API = "/api/v1"
PAGES = "/r"


def iso(value: dt.datetime | None) -> str | None:
    """ISO 8601 with its offset (SQLite keeps none: the store writes UTC)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def unit_name(cat: Catalog, campaign_id: str, unit_id: str) -> str:
    try:
        source = cat.campaign(campaign_id).data.get("submitters", "")
        return cat.entity(source, unit_id)["name"]
    except LookupError:
        return unit_id


def submission_summary(sub: Submission, cat: Catalog | None = None) -> dict[str, Any]:
    """A submission as listed: what, whose, which version, which status, and what can be done with it."""
    cat = cat or catalog()
    form = cat.campaign(sub.campaign_id).forms.get(sub.form_id or "") if sub.campaign_id in cat.campaigns else None
    return {
        "id": sub.id, "campaign": sub.campaign_id, "recommender": sub.recommender_id,
        "recommender_name": unit_name(cat, sub.campaign_id, sub.recommender_id),
        "form": sub.form_id, "form_title": form.title if form else "（未识别）",
        "entity_key": sub.entity_key, "group": (sub.record or {}).get("group_name", ""),
        "version": sub.version, "is_current": sub.is_current, "superseded_by": sub.superseded_by,
        "status": sub.status, "status_label": label(sub.status),
        "state_note": sub.state_note, "state_by": sub.state_by, "state_at": iso(sub.state_at),
        "reassigned_to": sub.reassigned_to,
        "actions": [t.id for t in transitions().values() if sub.status in t.sources],
        "late": sub.late, "readable": sub.readable, "file": sub.original_name, "sha256": sub.sha256,
        "received_at": iso(sub.received_at),
        "url": f"{API}/submissions/{sub.id}", "page_url": f"{PAGES}/submissions/{sub.id}",
    }


def decision_shape(d: ReviewDecision, form: Form | None) -> dict[str, Any]:
    title = decision_title(form, d.path)
    return {"path": d.path, "title": title, "action": d.action, "original": d.original, "value": d.value,
            "note": d.note, "user": d.user, "at": iso(d.created_at), "carried_from": d.carried_from}


def picture_urls(submission_id: int, sha256: str | None) -> dict[str, str | None]:
    """Where the picture of a value read from a scan is served (its unit and the staff only): ``picture_url`` in
    the API, ``picture_page_url`` for the pages, as ``url``/``page_url`` everywhere else."""
    if not sha256:
        return {"picture_url": None, "picture_page_url": None}
    return {"picture_url": f"{API}/submissions/{submission_id}/pictures/{sha256}",
            "picture_page_url": f"{PAGES}/submissions/{submission_id}/pictures/{sha256}"}


def problem_rows(sub: Submission, cat: Catalog) -> list[dict[str, Any]]:
    """Every problem of the file, errors first: its own, across files, missing attachments. A value read from a
    scan comes with the picture of its cell."""
    report = sub.report
    done = acknowledged(report)
    out = []
    for p in [*report.get("errors", []), *sub.cross_problems, *report.get("warnings", [])]:
        settled = document_level_done(p, done)  # a reviewer took it in: shown as settled, not as waiting
        picture = picture_for(report, p)
        out.append({"code": p["code"], "severity": "info" if settled else p["severity"], "title": p.get("title", ""),
                    "where": (p.get("where") or {}).get("text", ""),
                    "message": ("（已确认受理）" if settled else "") + p["message"],
                    "path": p.get("path", ""), "candidates": p.get("candidates", []),
                    "picture": picture, **picture_urls(sub.id, picture)})
    out += [{**p, "where": "", "title": "", "path": "", "candidates": [], "picture": None, **picture_urls(sub.id, None)}
            for p in attachment_problems(sub, cat)]
    order = {"error": 0, "review": 1, "info": 2}
    return sorted(out, key=lambda p: order.get(p["severity"], 3))


def submission_detail(s: Session, sub: Submission, cat: Catalog | None = None) -> dict[str, Any]:
    """A submission with its record (decisions applied), the values as read, every problem, each field with the
    decision that stands for it, the decisions, attachments and links."""
    cat = cat or catalog()
    form = cat.campaign(sub.campaign_id).forms.get(sub.form_id or "")
    decisions = [decision_shape(d, form) for d in decisions_of(s, sub.id)]
    latest = {d["path"]: d for d in decisions}
    report = sub.report
    fields = []
    for f in report.get("fields", []):
        decided = latest.get(f.get("path", ""))
        fields.append({"path": f.get("path", ""), "title": f["title"], "found": f["found"],
                       "where": (f.get("where") or {}).get("text", ""), "value": f.get("value"),
                       "note": f.get("note", ""), "flag": f.get("flag", ""), "decision": decided,
                       "value_now": decided["value"] if decided and decided["value"] is not None else f.get("value")})
    return {
        **submission_summary(sub, cat),
        "record": sub.record, "record_as_read": report.get("record", {}),
        "identified_by": report.get("identified_by", ""), "metrics": report.get("metrics", {}),
        "report": report, "cross_problems": sub.cross_problems, "scan_check": report.get("metrics", {}).get(CHECK),
        "problems": problem_rows(sub, cat), "fields": fields, "decisions": decisions,
        "attachments": [{"id": a.id, "kind": a.kind, "file": a.original_name, "media": a.media, "sha256": a.sha256,
                         "created_at": iso(a.created_at),
                         "url": f"{API}/submissions/{sub.id}/attachments/{a.id}",
                         "page_url": f"{PAGES}/submissions/{sub.id}/attachments/{a.id}"} for a in sub.attachments],
        "file_url": f"{API}/submissions/{sub.id}/file", "history_url": f"{API}/submissions/{sub.id}/history",
        "marked_url": f"{API}/submissions/{sub.id}/marked",
        "page_file_url": f"{PAGES}/submissions/{sub.id}/file",
        "page_history_url": f"{PAGES}/submissions/{sub.id}/history",
        "page_marked_url": f"{PAGES}/submissions/{sub.id}/marked",
    }


def detail_of(store, submission_id: int, cat: Catalog | None = None) -> dict[str, Any]:
    with store.session() as s:
        return submission_detail(s, s.get(Submission, submission_id), cat)


def latest_decisions(s: Session, submission_ids: list[int]) -> dict[int, list[ReviewDecision]]:
    out: dict[int, list[ReviewDecision]] = {}
    if submission_ids:
        for d in s.scalars(select(ReviewDecision).where(ReviewDecision.submission_id.in_(submission_ids))
                           .order_by(ReviewDecision.id)):
            out.setdefault(d.submission_id, []).append(d)
    return out
