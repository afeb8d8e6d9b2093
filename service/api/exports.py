"""Taking submissions out through the API: records as xlsx/CSV/JSON and the consolidated 汇总表 (admins only), and
the 资料汇编 PDF, at once or as a background job (a recommender account gets its own unit's).

The use cases write the audit entries (actor = the caller), once.
"""

from __future__ import annotations

from flask import Blueprint, current_app, request

from service.actions.export import MEDIA as EXPORT_MEDIA
from service.actions.export import export as take_out
from service.api.auth import current_user, token_required
from service.api.errors import ApiError
from service.api.files import download
from service.api.jobs import queued
from service.api.limits import MAX_ID
from service.api.params import acting_recommender, campaign_or_404, form_filter, recommender_filter, status_filter
from service.api.submissions import actor_of
from service.jobs.compile import KIND as COMPILE_KIND
from service.jobs.compile import create_compile_job
from service.store import store_for
from service.store.audit import audit
from service.store.models import Job

bp = Blueprint("exports", __name__)
XLSX = EXPORT_MEDIA["xlsx"]


def _not_deployed(exc: ModuleNotFoundError, module: str, feature: str) -> None:
    if exc.name != module:
        raise exc
    raise ApiError("NOT_IMPLEMENTED", "not_deployed", feature=feature) from None


@bp.get("/campaigns/<campaign_id>/export")
@token_required("admin")
def export(campaign_id: str):
    """The records of a campaign as xlsx, CSV (one form) or JSON; accepted ones unless ``status`` says otherwise."""
    campaign = campaign_or_404(campaign_id)
    fmt = request.args.get("format", "xlsx")
    if fmt not in EXPORT_MEDIA:
        raise ApiError("EXPORT_FORMAT", formats="、".join(EXPORT_MEDIA))
    form_id = form_filter(campaign)
    statuses = status_filter(("accepted",))
    data, name, media = take_out(store_for(current_app), actor_of(current_user()), campaign.id, fmt,
                                 form_id=form_id, statuses=statuses)
    return download(data, media, name)


@bp.get("/campaigns/<campaign_id>/summary.xlsx")
@token_required("admin")
def summary_xlsx(campaign_id: str):
    """The consolidated 推荐名单汇总表 of the whole campaign."""
    campaign = campaign_or_404(campaign_id)
    data, name, media = take_out(store_for(current_app), actor_of(current_user()), campaign.id, "summary")
    return download(data, media, name)


def _compile_scope(user, campaign) -> str | None:
    """Whose submissions a compilation takes: a recommender's own unit's; an admin's choice, checked (an unknown
    unit is a clear 400), or the whole campaign."""
    recommender = recommender_filter(user)
    if recommender and user.is_admin:
        acting_recommender(user, campaign, recommender)
    return recommender


@bp.post("/campaigns/<campaign_id>/compilations")
@token_required("admin", "recommender")
def start_compilation(campaign_id: str):
    """The 资料汇编 as a background job (a recommender's account compiles its own unit's)."""
    user = current_user()
    campaign = campaign_or_404(campaign_id)
    recommender = _compile_scope(user, campaign)
    job_id = create_compile_job(store_for(current_app), campaign.id, recommender, user.username)
    return queued(job_id)


@bp.get("/jobs/<int:job_id>/result")
@token_required("admin", "recommender")
def job_result(job_id: int):
    """The PDF a finished compile job produced."""
    user = current_user()
    store = store_for(current_app)
    with store.session() as s:
        job = s.get(Job, job_id) if job_id <= MAX_ID else None
        if job is None or job.kind != COMPILE_KIND or (not user.is_admin and job.recommender_id != user.entity_id):
            raise ApiError("JOB_NOT_FOUND", "compile", job=job_id)
        if not job.result_sha256:
            raise ApiError("JOB_RESULT_NOT_READY", job=job_id, state=job.state)
        sha, campaign_id, who = job.result_sha256, job.campaign_id, job.recommender_id
    with store.session.begin() as s:
        audit(s, user.username, "export", f"campaign:{campaign_id}", kind="pdf", job=job_id)
    suffix = f"-{who}" if who else ""
    return download(store.files.get(sha), "application/pdf", f"{campaign_id}-资料汇编{suffix}.pdf")


@bp.get("/campaigns/<campaign_id>/compilation.pdf")
@token_required("admin", "recommender")
def compilation(campaign_id: str):
    """The submissions compiled into one PDF for the expert panel (a recommender gets its own unit's)."""
    user = current_user()
    campaign = campaign_or_404(campaign_id)
    recommender = _compile_scope(user, campaign)
    try:
        from service.outputs.dossier import CompileError, compile_pdf
    except ModuleNotFoundError as exc:
        _not_deployed(exc, "service.outputs.dossier", "PDF 汇编")
    try:
        data = compile_pdf(store_for(current_app), campaign.id, recommender_id=recommender, actor=user.username)
    except CompileError as exc:
        raise ApiError(exc.code, exc.variant, **exc.fields) from None
    suffix = f"-{recommender}" if recommender else ""
    return download(data, "application/pdf", f"{campaign.id}-材料汇编{suffix}.pdf")
