"""Bearer-token authentication for the API: who is calling, and may they call this endpoint; and ``GET /me``.

Tokens come from the store (``flask tokens create``; only their sha256 is kept). A missing or malformed
``Authorization`` header answers 401 ``AUTH_REQUIRED``, an unknown or revoked token 401 ``AUTH_INVALID``, a
role that may not use the endpoint 403 ``FORBIDDEN``. The school role uses the web pages, not this API.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request

from service.api.errors import ApiError
from service.store import store_for
from service.store.auth import user_for_token

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="jth"'}
ROLE_LABELS = {"admin": "平台管理员", "recommender": "推荐单位", "school": "学校"}

bp = Blueprint("auth", __name__)


@dataclass(frozen=True)
class ApiUser:
    """The caller, detached from any database session."""

    id: int
    username: str
    role: str
    entity_id: str | None
    display_name: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _bearer_token() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if not header:
        raise ApiError("AUTH_REQUIRED", "no_header", headers=CHALLENGE)
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError("AUTH_REQUIRED", "malformed", headers=CHALLENGE)
    return token.strip()


def authenticate() -> ApiUser:
    """The caller of this request (cached in ``g``), or ApiError 401."""
    user = g.get("api_user")
    if user is not None:
        return user
    token = _bearer_token()
    store = store_for(current_app)
    with store.session.begin() as s:
        row = user_for_token(s, token) if len(token) <= 200 else None
        if row is None:
            raise ApiError("AUTH_INVALID", headers={"WWW-Authenticate": 'Bearer realm="jth", error="invalid_token"'})
        user = ApiUser(row.id, row.username, row.role, row.entity_id, row.display_name)
    g.api_user = user
    return user


def token_required(*roles: str) -> Callable:
    """Decorate a view: the caller must present a valid token and have one of ``roles``."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any):
            user = authenticate()
            if user.role not in roles:
                raise ApiError("FORBIDDEN", "role", allowed="、".join(ROLE_LABELS.get(r, r) for r in roles),
                               user=user.username, role=ROLE_LABELS.get(user.role, user.role))
            return view(*args, **kwargs)

        return wrapped

    return decorate


def current_user() -> ApiUser:
    """The authenticated caller (inside a view decorated with :func:`token_required`)."""
    return g.api_user


@bp.get("/me")
@token_required("admin", "recommender", "school")
def me():
    """The account the token belongs to."""
    user = current_user()
    return jsonify({"username": user.username, "display_name": user.display_name, "role": user.role,
                    "entity_id": user.entity_id})
