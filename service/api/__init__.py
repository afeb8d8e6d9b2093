"""Platform API (JSON) under ``/api/v1``: one blueprint, with a nested blueprint per resource.

- :mod:`~service.api.forms`: the public part (campaigns, schemas, templates, rendering from a record);
- :mod:`~service.api.auth`: bearer tokens and ``/me``;
- :mod:`~service.api.submissions`, :mod:`~service.api.review`, :mod:`~service.api.jobs` (bulk ingest and job
  state), :mod:`~service.api.exports` (exports, the 汇总表, the 资料汇编): the token-protected part;
- :mod:`~service.api.openapi`: the OpenAPI document of all of them.

This package joins them and answers errors: every answer under ``/api/`` that is not a success is
``{"error": {"code": ..., "message": ...}}`` with a code of the problem catalogue and its Chinese message
(:mod:`service.api.errors`), and no stack trace ever reaches a client. The route modules never import this
package back.
"""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, Response, request
from werkzeug.exceptions import HTTPException

from service.actions.intake import IntakeError
from service.api import accounts, auth, exports, forms, jobs, lifecycle, openapi, review, submissions
from service.api.errors import ApiError, http_message, jsonify_error

bp = Blueprint("api", __name__, url_prefix="/api/v1")
for _resource in (forms.bp, auth.bp, submissions.bp, review.bp, lifecycle.bp, jobs.bp, exports.bp, accounts.bp,
                  openapi.bp):
    bp.register_blueprint(_resource)
log = logging.getLogger(__name__)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    response = jsonify_error(exc.status, exc.code, exc.message, **exc.extra)
    response.headers.update(exc.headers)
    return response


@bp.errorhandler(IntakeError)
def _intake_error(exc: IntakeError) -> Response:
    return jsonify_error(exc.http_status, exc.code, exc.message)


def is_api_request() -> bool:
    """Whether this request is addressed to the API (routed or not: an unknown ``/api/…`` URL is one too)."""
    return request.path == "/api" or request.path.startswith("/api/")


def http_error(exc: HTTPException) -> Response:
    """An HTTP error under /api/ as JSON (the app sends those of its pages to :mod:`service.web.errors`)."""
    if exc.response is not None:  # abort(jsonify_error(...)) already built the answer
        return exc.response
    code, message = http_message(exc.code)
    response = jsonify_error(exc.code, code, message)
    for key, value in exc.get_headers():
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


def unexpected_error(exc: Exception) -> Response:
    """Any other exception under /api/: logged with a reference, answered with a generic JSON 500."""
    reference = uuid.uuid4().hex[:12]
    log.exception("unhandled error %s on %s %s", reference, request.method, request.path)
    code, message = http_message(500)
    return jsonify_error(500, code, message, reference=reference)
