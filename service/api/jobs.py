"""Bulk ingest through the API (admins only) and the state of any background job.

An uploaded zip is kept before anything reads it; the job then spools and files its entries in the app's job
runner (:func:`service.jobs.runner.runner_for`) and answers 202 with where to poll. A recommender account sees
only its own unit's jobs.
"""

from __future__ import annotations

import zipfile
from io import BytesIO

from flask import Blueprint, Response, current_app, jsonify, request

from service.api.auth import current_user, token_required
from service.api.errors import ApiError
from service.api.files import request_file
from service.api.limits import MAX_ID
from service.api.params import acting_recommender, campaign_or_404, page_args, paged
from service.jobs.ingest import create_job
from service.jobs.runner import runner_for
from service.jobs.summary import job_summary
from service.office.sniff import ZIP, media_type
from service.store import store_for
from service.store.audit import audit
from service.store.models import StoredFile, Upload

bp = Blueprint("jobs", __name__)


def _is_archive(data: bytes) -> bool:
    """A zip that is not itself an Office document (.docx/.xlsx are zips with ``[Content_Types].xml``)."""
    if media_type(data) != ZIP:
        return False
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            return "[Content_Types].xml" not in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return True  # a damaged zip is still an archive: the job reports ZIP_CORRUPT for it


def queued(job_id: int) -> Response:
    """Hand a job to the runner and answer 202 with where to poll it."""
    runner_for(current_app).submit(job_id)
    poll = f"/api/v1/jobs/{job_id}"
    response = jsonify({"job_id": job_id, "state": "queued", "poll_url": poll})
    response.status_code = 202
    response.headers["Location"] = poll
    return response


@bp.post("/campaigns/<campaign_id>/ingest")
@token_required("admin")
def ingest(campaign_id: str):
    """Bulk ingest of a zip for one recommender, as a background job."""
    user = current_user()
    campaign = campaign_or_404(campaign_id)
    filename, data = request_file("zip 压缩包")
    if not _is_archive(data):
        raise ApiError("ZIP_REQUIRED")
    recommender = acting_recommender(user, campaign, request.form.get("recommender") or None)
    store = store_for(current_app)
    sha = store.files.put(data)  # the zip is kept before anything reads it
    with store.session.begin() as s:
        if s.get(StoredFile, sha) is None:
            s.add(StoredFile(sha256=sha, size=len(data)))
            s.flush()
        upload = Upload(sha256=sha, original_name=filename, size=len(data), campaign_id=campaign.id,
                        recommender_id=recommender, uploader=user.username, channel="bulk")
        s.add(upload)
        s.flush()
        audit(s, user.username, "upload", f"upload:{upload.id}", name=filename, sha256=sha, size=len(data),
              channel="bulk")
    name = filename if filename.lower().endswith(".zip") else filename + ".zip"
    job_id = create_job(store, [{"kind": "stored", "sha256": sha, "name": name}], campaign.id, recommender,
                        user.username)
    return queued(job_id)


@bp.get("/jobs/<int:job_id>")
@token_required("admin", "recommender")
def job(job_id: int):
    """A background job: state, progress; an ingest's counts by result and items (paged), a compilation's result."""
    user = current_user()
    page, per_page = page_args()
    try:
        summary = job_summary(store_for(current_app), job_id) if job_id <= MAX_ID else None
    except LookupError:
        summary = None
    if summary is None or (not user.is_admin and summary["recommender"] != user.entity_id):
        raise ApiError("JOB_NOT_FOUND", job=job_id)
    items = summary.pop("items")
    start = (page - 1) * per_page
    summary["items"] = paged(items[start:start + per_page], len(items), page, per_page)
    return jsonify(summary)

