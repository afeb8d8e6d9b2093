"""Submissions through the API: submit a returned form (with attachments), add attachments, list submissions and
records, and read one submission, its history, its original file, its attachments and its marked-up copy.

Who sees what: an admin sees and acts on everything; a recommender account sees and changes only the
submissions of its own unit (``recommender_id == entity_id``) — another unit's submission answers 404, as if
it did not exist; the school role may not use these endpoints (403). Every upload, attachment and download is in
the audit log.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import func, select

from service.actions import downloads, shapes
from service.actions.actor import Actor
from service.actions.history import history
from service.actions.intake import add_attachment, check_attachment, receive
from service.api.auth import ApiUser, current_user, token_required
from service.api.errors import ApiError
from service.api.files import download, request_attachments, request_file
from service.api.limits import MAX_ID
from service.api.params import (
    acting_recommender,
    campaign_or_404,
    form_filter,
    page_args,
    paged,
    recommender_filter,
    status_filter,
)
from service.store import Store, store_for
from service.store.models import Submission

bp = Blueprint("submissions", __name__)


def actor_of(user: ApiUser) -> Actor:
    return Actor(user.username, user.role, user.entity_id)


def visible_submission(s, user: ApiUser, submission_id: int, read_only: bool = False) -> Submission:
    """The submission if the caller may act on it (``read_only``: read it, as a campaign's supervisor reads its
    units'); otherwise ApiError 404, as if it did not exist."""
    sub = s.get(Submission, submission_id) if submission_id <= MAX_ID else None
    actor = actor_of(user)
    if sub is None or not (actor.may_read(sub.campaign_id, sub.recommender_id) if read_only
                           else actor.may_see(sub.recommender_id)):
        raise ApiError("SUBMISSION_NOT_FOUND", "not_yours", submission=submission_id)
    return sub


def detail_of(submission_id: int) -> dict[str, Any]:
    """The submission's detail read afresh (after an action changed it)."""
    return shapes.detail_of(store_for(current_app), submission_id)


def _attach_new(store: Store, submission_id: int, attachments: list[tuple[str, str, bytes]], user: ApiUser) -> int:
    """Add the attachments the submission does not have yet (same kind and bytes): a retried request adds nothing."""
    with store.session() as s:
        sub = s.get(Submission, submission_id)
        have = {(a.kind, a.sha256) for a in sub.attachments}
        campaign_id, form_id = sub.campaign_id, sub.form_id
    for kind, name, data in attachments:  # all checked before any is kept
        check_attachment(campaign_id, form_id, kind, data, name)
    added = 0
    for kind, name, data in attachments:
        key = (kind, hashlib.sha256(data).hexdigest())
        if key not in have:
            add_attachment(store, submission_id, kind, name, data, user.username)
            have.add(key)
            added += 1
    return added




@bp.post("/campaigns/<campaign_id>/submissions")
@token_required("admin", "recommender")
def submit(campaign_id: str):
    """Submit one returned form (with optional attachments); the same bytes again are answered as a duplicate."""
    user = current_user()
    campaign = campaign_or_404(campaign_id)
    filename, data = request_file("表单文件（推荐书、汇总表或工作总结）")
    recommender = acting_recommender(user, campaign, request.form.get("recommender") or None)
    attachments = request_attachments()
    store = store_for(current_app)
    got = receive(store, data, filename, campaign_id=campaign.id, recommender_id=recommender,
                  uploader=user.username, channel="api", attachments=attachments)
    if got.submission_id is None:  # a concurrent identical upload that vanished: nothing to show
        raise ApiError("SUBMISSION_CONFLICT")
    if got.outcome == "duplicate" and attachments:
        _attach_new(store, got.submission_id, attachments, user)
    detail = detail_of(got.submission_id)
    response = jsonify({**got.to_dict(), "status": detail["status"], "submission": detail})
    response.status_code = 200 if got.outcome == "duplicate" else 201
    response.headers["Location"] = detail["url"]
    return response


@bp.post("/submissions/<int:submission_id>/attachments")
@token_required("admin", "recommender")
def submission_attachments(submission_id: int):
    """Add attachments (政策文件, 盖章扫描件) to a submission."""
    user = current_user()
    attachments = request_attachments(required=True)
    store = store_for(current_app)
    with store.session() as s:
        visible_submission(s, user, submission_id)
    added = _attach_new(store, submission_id, attachments, user)
    response = jsonify({"added": added, "submission": detail_of(submission_id)})
    response.status_code = 201 if added else 200
    return response


def _filtered(query, campaign, user):
    """The query narrowed by the caller's unit and the recommender/form/status parameters."""
    recommender = recommender_filter(user)
    if recommender:
        query = query.where(Submission.recommender_id == recommender)
    if form_id := form_filter(campaign):
        query = query.where(Submission.form_id == form_id)
    if statuses := status_filter():
        query = query.where(Submission.status.in_(statuses))
    return query


@bp.get("/campaigns/<campaign_id>/submissions")
@token_required("admin", "recommender")
def submissions(campaign_id: str):
    """Submissions of a campaign, newest first, filtered and paged."""
    user = current_user()
    campaign = campaign_or_404(campaign_id)
    page, per_page = page_args()
    current = request.args.get("current", "true")
    if current not in ("true", "false", "all"):
        raise ApiError("BAD_REQUEST", "current")
    query = select(Submission).where(Submission.campaign_id == campaign.id)
    query = _filtered(query, campaign, user)
    if current != "all":
        query = query.where(Submission.is_current.is_(current == "true"))
    with store_for(current_app).session() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        rows = s.scalars(query.order_by(Submission.id.desc()).offset((page - 1) * per_page).limit(per_page))
        return jsonify(paged([shapes.submission_summary(sub) for sub in rows], total, page, per_page))


@bp.get("/campaigns/<campaign_id>/records")
@token_required("admin", "recommender")
def records(campaign_id: str):
    """The records of the current, readable submissions (what the forms say), filtered and paged."""
    user = current_user()
    campaign = campaign_or_404(campaign_id)
    page, per_page = page_args()
    query = select(Submission).where(Submission.campaign_id == campaign.id, Submission.is_current.is_(True),
                                     Submission.readable.is_(True))
    query = _filtered(query, campaign, user)
    with store_for(current_app).session() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        rows = s.scalars(query.order_by(Submission.id).offset((page - 1) * per_page).limit(per_page))
        items = [{"submission_id": sub.id, "recommender": sub.recommender_id, "form": sub.form_id,
                  "version": sub.version, "status": sub.status, "record": sub.record} for sub in rows]
        return jsonify(paged(items, total, page, per_page))


@bp.get("/submissions/<int:submission_id>")
@token_required("admin", "recommender")
def submission(submission_id: int):
    """One submission: status, record, parse report, problems across submissions, attachments."""
    with store_for(current_app).session() as s:
        return jsonify(shapes.submission_detail(s, visible_submission(s, current_user(), submission_id, True)))


@bp.get("/submissions/<int:submission_id>/history")
@token_required("admin", "recommender")
def submission_history(submission_id: int):
    """Every version of the same form for the same group, oldest first, with field-level changes."""
    store = store_for(current_app)
    with store.session() as s:
        visible_submission(s, current_user(), submission_id, True)
    versions = history(store, submission_id)
    for v in versions:
        v["url"] = f"/api/v1/submissions/{v['id']}"
        if not re.search(r"(Z|[+-]\d\d:\d\d)$", v["received_at"]):  # SQLite keeps no offset; it is UTC
            v["received_at"] += "+00:00"
    return jsonify({"submission_id": submission_id, "versions": versions})


@bp.get("/submissions/<int:submission_id>/marked")
@token_required("admin", "recommender")
def submission_marked(submission_id: int):
    """The file marked up with its problems: Word comments (批注) at their places, Excel cell comments."""
    _check_id(submission_id)
    content, name = downloads.marked_file(store_for(current_app), submission_id, actor_of(current_user()))
    return download(content, "application/octet-stream", name)


@bp.get("/submissions/<int:submission_id>/file")
@token_required("admin", "recommender")
def submission_file(submission_id: int):
    """The original bytes as they were uploaded, under their original name."""
    _check_id(submission_id)
    content, name = downloads.original_file(store_for(current_app), submission_id, actor_of(current_user()))
    return download(content, "application/octet-stream", name)


@bp.get("/submissions/<int:submission_id>/attachments/<int:attachment_id>")
@token_required("admin", "recommender")
def attachment_file(submission_id: int, attachment_id: int):
    """An attachment's original bytes under its original name."""
    _check_id(submission_id)
    if attachment_id > MAX_ID:
        raise ApiError("ATTACHMENT_NOT_FOUND", submission=submission_id, attachment=attachment_id)
    content, name = downloads.attachment_file(store_for(current_app), submission_id, attachment_id,
                                              actor_of(current_user()))
    return download(content, "application/octet-stream", name)


@bp.get("/submissions/<int:submission_id>/pictures/<sha256>")
@token_required("admin", "recommender")
def cell_picture(submission_id: int, sha256: str):
    """The picture of a value read from a scan (its cell), named by the report's ``picture`` of the item."""
    _check_id(submission_id)
    content = downloads.cell_picture(store_for(current_app), submission_id, sha256, actor_of(current_user()))
    response = download(content, "image/png", f"{sha256[:12]}.png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


def _check_id(submission_id: int) -> None:
    if submission_id > MAX_ID:
        raise ApiError("SUBMISSION_NOT_FOUND", "not_yours", submission=submission_id)
