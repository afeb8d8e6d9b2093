"""Review through the API (admins only): a decision on one flagged field or document-level item, and the queue of
flagged fields still waiting. Decisions are taken by :func:`service.actions.intake.decide`, which audits them and
checks the submission and its related submissions again.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import select

from service.actions.review import decide
from service.actions.scan_check import picture_for
from service.actions.shapes import picture_urls
from service.api.auth import current_user, token_required
from service.api.errors import ApiError
from service.api.params import campaign_or_404, page_args, paged
from service.api.submissions import detail_of, visible_submission
from service.store import store_for
from service.store.models import Submission

bp = Blueprint("review", __name__)


@bp.post("/submissions/<int:submission_id>/review")
@token_required("admin")
def review(submission_id: int):
    """A reviewer's decision on one field: accept the value read (or a candidate), or correct it; or, with the path
    ``#CODE``, accept a document-level item (SUBMISSION_LATE, FORM_STAMP_MISMATCH …) as it is."""
    user = current_user()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("BAD_REQUEST", "review_body")
    action, note = body.get("action"), body.get("note", "")
    if action not in ("accept", "correct"):
        raise ApiError("REVIEW_ACTION", "api")
    if not isinstance(note, str) or len(note) > 2000:
        raise ApiError("BAD_REQUEST", "note")
    if action == "correct" and "value" not in body:
        raise ApiError("REVIEW_VALUE_REQUIRED", "api")
    store = store_for(current_app)
    with store.session() as s:
        visible_submission(s, user, submission_id)
    path = body.get("path")
    if not isinstance(path, str) or not path:
        raise ApiError("REVIEW_PATH_UNKNOWN", "missing")
    decide(store, submission_id, path, action, user.username, value=body.get("value"), note=note)
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
                              "picture_url": picture_urls(sub.id, picture_for(sub.report, problem))["picture_url"],
                              "review_url": f"/api/v1/submissions/{sub.id}/review"})
    start = (page - 1) * per_page
    return jsonify(paged(items[start:start + per_page], len(items), page, per_page))

