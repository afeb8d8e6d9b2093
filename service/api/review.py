"""Review through the API (admins only): a decision on one flagged field or document-level item, and the queue of
flagged fields still waiting. Decisions are taken by :func:`service.actions.intake.decide`, which audits them and
checks the submission and its related submissions again.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from service.actions.intake import DOCUMENT_DECISION, decide
from service.api.auth import current_user, token_required
from service.api.params import bad, campaign_or_404, page_args, paged
from service.api.submissions import detail_of, visible_submission
from service.forms.catalog import Form, catalog
from service.store import store_for
from service.store.models import Submission

bp = Blueprint("review", __name__)


def _check_review_path(form: Form | None, record: dict[str, Any], path: Any) -> None:
    """The path must name a field of the form (``contact_email``) or a cell of one of its tables
    (``members.3.name``, at most one row past the last)."""
    if form is None:
        raise bad("该提交未能识别出表单，没有可复核的字段。", "REVIEW_NO_FORM")
    if not isinstance(path, str) or not path:
        raise bad("请用 path 指明要复核的字段路径（如 contact_email、members.0.name）。", "REVIEW_PATH_UNKNOWN")
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
        raise bad(f"表格 {parts[0]} 没有第 {index + 1} 行（现有 {len(rows or [])} 行）。", "REVIEW_PATH_UNKNOWN")
    raise bad(f"《{form.title}》中没有字段“{path[:100]}”（字段路径如 contact_email、members.0.name）。",
              "REVIEW_PATH_UNKNOWN")


@bp.post("/submissions/<int:submission_id>/review")
@token_required("admin")
def review(submission_id: int):
    """A reviewer's decision on one field: accept the value read (or a candidate), or correct it; or, with the path
    ``#CODE``, accept a document-level item (SUBMISSION_LATE, FORM_STAMP_MISMATCH …) as it is."""
    user = current_user()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise bad("请求体应为 JSON 对象：{\"path\": 字段路径, \"action\": \"accept\" 或 \"correct\", "
                  "\"value\": 值（可选）, \"note\": 说明（可选）}。")
    action, note = body.get("action"), body.get("note", "")
    if action not in ("accept", "correct"):
        raise bad("action 只能是 accept（采纳读取的值或候选值）或 correct（更正为 value）。", "REVIEW_ACTION")
    if not isinstance(note, str) or len(note) > 2000:
        raise bad("note 应为不超过 2000 字的文字。")
    if action == "correct" and "value" not in body:
        raise bad("更正（correct）须给出 value。", "REVIEW_VALUE_REQUIRED")
    store = store_for(current_app)
    with store.session() as s:
        sub = visible_submission(s, user, submission_id)
        form = catalog().form(sub.campaign_id, sub.form_id) if sub.form_id else None
        if not (isinstance(body.get("path"), str) and body["path"].startswith(DOCUMENT_DECISION)):
            _check_review_path(form, sub.record, body.get("path"))
    decide(store, submission_id, body["path"], action, user.username, value=body.get("value"), note=note)
    return jsonify(detail_of(submission_id))


@bp.get("/review-queue")
@token_required("admin")
def review_queue():
    """Flagged fields of current submissions that are not accepted, oldest submission first."""
    page, per_page = page_args()
    query = select(Submission).where(Submission.is_current.is_(True), Submission.readable.is_(True),
                                     Submission.status != "accepted")
    if campaign_id := request.args.get("campaign"):
        query = query.where(Submission.campaign_id == campaign_or_404(campaign_id).id)
    if recommender := request.args.get("recommender"):
        query = query.where(Submission.recommender_id == recommender)
    if form_id := request.args.get("form"):
        query = query.where(Submission.form_id == form_id)
    items = []
    with store_for(current_app).session() as s:
        for sub in s.scalars(query.order_by(Submission.id)):
            for problem in [*sub.report.get("errors", []), *sub.report.get("warnings", [])]:
                if not problem.get("path"):
                    continue
                items.append({"submission_id": sub.id, "campaign": sub.campaign_id, "recommender": sub.recommender_id,
                              "form": sub.form_id, "file": sub.original_name, "status": sub.status,
                              "path": problem["path"], "title": problem.get("title", ""), "code": problem["code"],
                              "severity": problem["severity"], "message": problem["message"],
                              "candidates": problem.get("candidates", []), "where": problem.get("where"),
                              "review_url": f"/api/v1/submissions/{sub.id}/review"})
    start = (page - 1) * per_page
    return jsonify(paged(items[start:start + per_page], len(items), page, per_page))

