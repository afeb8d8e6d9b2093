"""The submission lifecycle through the API: 退回修改, 撤回, 清除, 改派, 恢复, the comment thread, and 批量确认 of a
document-level item. Each route only reads the request and calls the use case in :mod:`service.actions`, which
checks the transition and the caller's right and audits it once. Also the unit's 推荐排序 and the 汇总表 prefilled
from its letters."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, jsonify, request

from service.actions.comments import add_comment, comments
from service.actions.confirm import confirm_items
from service.actions.dismiss import dismiss
from service.actions.letter_order import letter_order, prefilled_summary, set_letter_order
from service.actions.reassign import reassign
from service.actions.restore import restore
from service.actions.return_for_changes import return_for_changes
from service.actions.withdraw import withdraw
from service.api.auth import current_user, token_required
from service.api.errors import ApiError
from service.api.files import download
from service.api.limits import MAX_ID
from service.api.params import acting_recommender, campaign_or_404
from service.api.submissions import actor_of, detail_of
from service.store import store_for

bp = Blueprint("lifecycle", __name__)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_TEXT = 2000


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if body is None and not request.data and not request.form:
        return {}
    if not isinstance(body, dict):
        raise ApiError("BAD_REQUEST", "body")
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ApiError("BAD_REQUEST", "text", key=key)
    return value


def _id(submission_id: int) -> int:
    if submission_id > MAX_ID:
        raise ApiError("SUBMISSION_NOT_FOUND", "not_yours", submission=submission_id)
    return submission_id


@bp.post("/submissions/<int:submission_id>/withdraw")
@token_required("admin", "recommender")
def withdraw_submission(submission_id: int):
    """撤回: by its unit until the deadline, by staff at any time; the file stays, it no longer counts."""
    body = _body()
    withdraw(store_for(current_app), _id(submission_id), actor_of(current_user()), _text(body, "reason"))
    return jsonify(detail_of(submission_id))


@bp.post("/submissions/<int:submission_id>/dismiss")
@token_required("admin", "recommender")
def dismiss_upload(submission_id: int):
    """清除 an upload that is not a submission (unreadable, or refused for who sent it)."""
    body = _body()
    dismiss(store_for(current_app), _id(submission_id), actor_of(current_user()), _text(body, "reason"))
    return jsonify(detail_of(submission_id))


@bp.post("/submissions/<int:submission_id>/return")
@token_required("admin")
def return_submission(submission_id: int):
    """退回修改 with a message the unit sees on its report and in the marked copy."""
    body = _body()
    return_for_changes(store_for(current_app), _id(submission_id), actor_of(current_user()), _text(body, "message"))
    return jsonify(detail_of(submission_id))


@bp.post("/submissions/<int:submission_id>/reassign")
@token_required("admin")
def reassign_submission(submission_id: int):
    """改派 to the unit the file belongs to; answers the new submission."""
    body = _body()
    to = body.get("to")
    if not isinstance(to, str) or not to or len(to) > 60:
        raise ApiError("REASSIGN_TARGET_UNKNOWN", unit=str(to)[:60])
    new_id = reassign(store_for(current_app), _id(submission_id), to, actor_of(current_user()), _text(body, "reason"))
    return jsonify(detail_of(new_id))


@bp.post("/submissions/<int:submission_id>/restore")
@token_required("admin")
def restore_submission(submission_id: int):
    """恢复 a returned, withdrawn or dismissed submission."""
    body = _body()
    restore(store_for(current_app), _id(submission_id), actor_of(current_user()), _text(body, "reason"))
    return jsonify(detail_of(submission_id))


@bp.get("/submissions/<int:submission_id>/comments")
@token_required("admin", "recommender")
def list_comments(submission_id: int):
    """The thread between the unit and the staff (all versions of the form), oldest first."""
    items = comments(store_for(current_app), _id(submission_id), actor_of(current_user()))
    return jsonify({"submission_id": submission_id, "comments": items})


@bp.post("/submissions/<int:submission_id>/comments")
@token_required("admin", "recommender")
def post_comment(submission_id: int):
    body = _body()
    value = body.get("body", "")
    if not isinstance(value, str):
        raise ApiError("COMMENT_EMPTY")
    item = add_comment(store_for(current_app), _id(submission_id), actor_of(current_user()), value)
    response = jsonify(item)
    response.status_code = 201
    return response


@bp.post("/campaigns/<campaign_id>/confirm")
@token_required("admin")
def confirm(campaign_id: str):
    """批量确认 a document-level item (SUBMISSION_LATE …) with one reason, for chosen submissions or all."""
    campaign = campaign_or_404(campaign_id)
    body = _body()
    code = body.get("code")
    if not isinstance(code, str) or not code or len(code) > 60:
        raise ApiError("BULK_NOT_DOCUMENT_ITEM", code=str(code)[:60])
    ids = body.get("submissions")
    if ids is not None and (not isinstance(ids, list) or len(ids) > 10000
                            or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids)):
        raise ApiError("BAD_REQUEST", "submissions")
    done = confirm_items(store_for(current_app), campaign.id, code, _text(body, "reason"), actor_of(current_user()),
                         ids)
    return jsonify({"campaign": campaign.id, "code": code, "confirmed": done})


@bp.get("/campaigns/<campaign_id>/letter-order")
@token_required("admin", "recommender")
def get_letter_order(campaign_id: str):
    """The unit's current 推荐书 in its order (the 推荐排序名单); staff name the unit with ``recommender``."""
    campaign = campaign_or_404(campaign_id)
    user = current_user()
    unit = acting_recommender(user, campaign, request.args.get("recommender") or None)
    return jsonify(letter_order(store_for(current_app), campaign.id, actor_of(user), unit))


@bp.put("/campaigns/<campaign_id>/letter-order")
@token_required("admin", "recommender")
def put_letter_order(campaign_id: str):
    """Save the order: ``{"submissions": [id, …]}`` with every current letter once, rank 1 first."""
    campaign = campaign_or_404(campaign_id)
    user = current_user()
    body = _body()
    ids = body.get("submissions")
    if not isinstance(ids, list) or len(ids) > 1000 or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ApiError("BAD_REQUEST", "submissions")
    unit = acting_recommender(user, campaign, body.get("recommender") if isinstance(body.get("recommender"), str)
                              else None)
    return jsonify(set_letter_order(store_for(current_app), campaign.id, actor_of(user), ids, unit))


@bp.get("/campaigns/<campaign_id>/prefilled-summary.xlsx")
@token_required("admin", "recommender")
def prefilled_summary_xlsx(campaign_id: str):
    """The 推荐名单汇总表 filled from the unit's letters in its order, to check, stamp and send back."""
    campaign = campaign_or_404(campaign_id)
    user = current_user()
    unit = acting_recommender(user, campaign, request.args.get("recommender") or None)
    content, name = prefilled_summary(store_for(current_app), campaign.id, actor_of(user), unit)
    return download(content, XLSX, name)
