"""What a request to the API asks for, read and checked the same way by every route: the campaign, the page, the
status/form/recommender filters and the unit the caller acts for. A bad value is a 400 that names the parameter
and what it may be; a unit the caller may not see is a 403 (each worded by its catalogue entry).
"""

from __future__ import annotations

from typing import Any

from flask import request

from service.api.auth import ApiUser
from service.api.errors import ApiError
from service.api.limits import DEFAULT_PER_PAGE, MAX_PAGE, MAX_PER_PAGE, STATUSES
from service.forms.catalog import Campaign, catalog


def campaign_or_404(campaign_id: str) -> Campaign:
    """The campaign ``campaign_id``, or ApiError 404 ``CAMPAIGN_NOT_FOUND``."""
    cat = catalog()
    if campaign_id not in cat.campaigns:
        raise ApiError("CAMPAIGN_NOT_FOUND", campaign=campaign_id, campaigns="、".join(cat.campaigns))
    return cat.campaign(campaign_id)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ApiError("BAD_REQUEST", "not_positive", name=name, raw=raw[:40])
    value = int(raw)
    if not low <= value <= high:
        raise ApiError("BAD_REQUEST", "out_of_range", name=name, low=low, high=high, value=value)
    return value


def page_args() -> tuple[int, int]:
    """``page`` and ``per_page`` of a listing, within their bounds."""
    return _int_arg("page", 1, 1, MAX_PAGE), _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)


def paged(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    """One page of a listing with its total, as every listing answers."""
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": (total + per_page - 1) // per_page}


def status_filter(default: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The ``status`` parameters (repeated or comma-separated), each one of :data:`STATUSES`; else ``default``."""
    wanted = tuple(s for raw in request.args.getlist("status") for s in raw.split(",") if s)
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise ApiError("BAD_REQUEST", "status", statuses="、".join(STATUSES), raw=unknown[0][:40])
    return wanted or default


def form_filter(campaign: Campaign) -> str | None:
    """The ``form`` parameter, a form of ``campaign``, or None."""
    form_id = request.args.get("form") or None
    if form_id is not None and form_id not in campaign.forms:
        raise ApiError("BAD_REQUEST", "form", campaign=campaign.id, form=form_id[:60], forms="、".join(campaign.forms))
    return form_id


def recommender_filter(user: ApiUser) -> str | None:
    """Admins filter by any recommender; a recommender account always sees its own unit only."""
    wanted = request.args.get("recommender") or None
    if user.is_admin:
        return wanted
    if wanted is not None and wanted != user.entity_id:
        raise ApiError("FORBIDDEN", "own_unit", entity=user.entity_id)
    return user.entity_id


def acting_recommender(user: ApiUser, campaign: Campaign, requested: str | None) -> str:
    """The unit a file is submitted for: an admin names it, a recommender account is its own unit."""
    known = {row.get("id") for row in catalog().entities(campaign.data.get("submitters", "recommenders"))}
    if user.is_admin:
        rid = requested or user.entity_id
        if not rid:
            raise ApiError("RECOMMENDER_REQUIRED")
        if rid not in known:
            raise ApiError("RECOMMENDER_NOT_FOUND", campaign=campaign.title, recommender=rid[:60])
        return rid
    if requested and requested != user.entity_id:
        raise ApiError("FORBIDDEN", "own_name", entity=user.entity_id)
    if user.entity_id not in known:
        raise ApiError("FORBIDDEN", "not_submitter", entity=user.entity_id, campaign=campaign.title)
    return user.entity_id

