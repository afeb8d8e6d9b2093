"""Accounts through the API (admins only): list, create one, create one for every unit of a campaign (the one-time
passwords are in this answer and nowhere else), a new one-time password, disable, enable, unlock. Each route calls
its use case in :mod:`service.actions.accounts`."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from service.actions import accounts as acc
from service.api.auth import current_user, token_required
from service.api.errors import ApiError
from service.api.params import campaign_or_404
from service.api.submissions import actor_of
from service.store import store_for

bp = Blueprint("accounts", __name__)


def _account(username: str) -> dict:
    found = next((a for a in acc.accounts(store_for(current_app), actor_of(current_user()))
                  if a["username"] == username), None)
    if found is None:
        raise ApiError("ACCOUNT_NOT_FOUND", username=username[:80])
    return found


def _str(body: dict, key: str, limit: int = 200) -> str:
    value = body.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ApiError("BAD_REQUEST", "text", key=key)
    return value


@bp.get("/users")
@token_required("admin")
def list_users():
    """Every account (no password or hash, ever)."""
    return jsonify({"users": acc.accounts(store_for(current_app), actor_of(current_user()))})


@bp.post("/users")
@token_required("admin")
def create_user():
    """One account with a one-time password (in this answer only; to be changed at the first sign-in)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("BAD_REQUEST", "body")
    issued = acc.create_account(store_for(current_app), actor_of(current_user()), _str(body, "username", 80),
                                _str(body, "role", 20), _str(body, "entity", 60) or None,
                                _str(body, "display_name"), _str(body, "email"))
    response = jsonify({**_account(issued.username), "password": issued.password})
    response.status_code = 201
    return response


@bp.post("/campaigns/<campaign_id>/accounts")
@token_required("admin")
def create_campaign_accounts(campaign_id: str):
    """An account for every unit of the campaign's list that has none; their one-time passwords."""
    campaign = campaign_or_404(campaign_id)
    issued = acc.create_campaign_accounts(store_for(current_app), actor_of(current_user()), campaign.id)
    response = jsonify({"campaign": campaign.id, "accounts": [i.to_dict() for i in issued]})
    response.status_code = 201 if issued else 200
    return response


@bp.post("/users/<username>/reset-password")
@token_required("admin")
def reset_password(username: str):
    issued = acc.reset_password(store_for(current_app), actor_of(current_user()), username[:80])
    return jsonify({**_account(issued.username), "password": issued.password})


@bp.post("/users/<username>/disable")
@token_required("admin")
def disable(username: str):
    acc.set_disabled(store_for(current_app), actor_of(current_user()), username[:80], True)
    return jsonify(_account(username))


@bp.post("/users/<username>/enable")
@token_required("admin")
def enable(username: str):
    acc.set_disabled(store_for(current_app), actor_of(current_user()), username[:80], False)
    return jsonify(_account(username))


@bp.post("/users/<username>/unlock")
@token_required("admin")
def unlock(username: str):
    acc.unlock(store_for(current_app), actor_of(current_user()), username[:80])
    return jsonify(_account(username))
