"""Pages for platform staff: the status of every recommender, bulk ingest with live progress, the review queue,
exports and the 资料汇编."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from sqlalchemy import select

from service.actions.confirm import confirm_items
from service.actions.export import export
from service.actions.intake import DOCUMENT_DECISION, IntakeError, acknowledged, document_level_done, staff_message
from service.actions.review import decide
from service.actions.scan_check import picture_for
from service.actions.shapes import picture_urls, unit_name
from service.actions.status_board import STATUSES, status_board
from service.forms.catalog import catalog
from service.jobs.compile import KIND as COMPILE_KIND
from service.jobs.compile import create_compile_job
from service.jobs.ingest import create_job
from service.jobs.runner import runner_for
from service.jobs.summary import job_summary
from service.problems.catalogue import entry
from service.store import store_for
from service.store.audit import audit
from service.store.lifecycle import UPLOADS
from service.store.models import Job, StoredFile, Submission
from service.web.auth import login_required
from service.web.pages import page, send_download
from service.web.recommender import STATUS_LABELS, actor, summary

bp = Blueprint("admin", __name__, url_prefix="/admin")
COLORS = {"accepted": "#1e7b34", "needs_review": "#b7791f", "rejected": "#b42318", "late": "#4c51bf",
          "returned": "#c05621", "missing": "#e4e7eb"}


def _campaign_arg() -> Any:
    cat = catalog()
    campaign_id = request.args.get("campaign") or next(iter(cat.campaigns))
    try:
        return cat.campaign(campaign_id)
    except LookupError:
        abort(404)


def status_table(campaign) -> list[dict[str, Any]]:
    """Per submitter: how many current submissions in each status, and which expected forms are missing."""
    return status_board(store_for(current_app), campaign.id, actor())


def chart_svg(rows: list[dict[str, Any]]) -> str:
    """A stacked bar per submitter that has anything (server-rendered SVG: no JavaScript needed)."""
    shown = [r for r in rows if r["submitted"]] or rows[:10]
    width, bar, gap, left = 760, 18, 6, 210
    top = 30
    height = top + len(shown) * (bar + gap) + 10
    biggest = max([r["submitted"] for r in shown] + [1])
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="各单位报送状态" width="{width}" '
             f'height="{height}" font-family="Noto Sans CJK SC, sans-serif" font-size="12">']
    x = left
    for st in STATUSES:
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{COLORS[st]}"/>'
                     f'<text x="{x + 16}" y="16">{STATUS_LABELS[st]}</text>')
        x += 90
    for i, r in enumerate(shown):
        y = top + i * (bar + gap)
        parts.append(f'<text x="{left - 8}" y="{y + 13}" text-anchor="end">{r["name"][:14]}</text>')
        x = left
        for st in STATUSES:
            w = (width - left - 40) * r[st] / biggest
            if w:
                parts.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{COLORS[st]}">'
                             f'<title>{r["name"]}：{STATUS_LABELS[st]} {r[st]}</title></rect>')
            x += w
        parts.append(f'<text x="{x + 4:.1f}" y="{y + 13}">{r["submitted"]}</text>')
    parts.append("</svg>")
    return "".join(parts)


@bp.get("/")
@login_required("admin")
def dashboard():
    campaign = _campaign_arg()
    rows = status_table(campaign)
    totals = {st: sum(r[st] for r in rows) for st in (*STATUSES, "uploads")}
    totals["missing"] = sum(1 for r in rows if r["missing"])
    data = {"campaign": campaign.id, "title": campaign.title, "deadline": campaign.data["deadline"],
            "campaigns": [{"id": c.id, "title": c.title} for c in catalog().campaigns.values()],
            "rows": rows, "totals": totals}
    return page("admin/dashboard.html", data, chart=chart_svg(rows), labels=STATUS_LABELS, statuses=STATUSES)


@bp.get("/uploads")
@login_required("admin")
def uploads():
    """Files that are not submissions of the unit they came under (unreadable, refused for who sent them): to be
    dismissed or reassigned. They count for no one until then."""
    campaign = _campaign_arg()
    cat = catalog()
    query = select(Submission).where(Submission.campaign_id == campaign.id, Submission.is_current.is_(True),
                                     Submission.status.in_(sorted(UPLOADS)))
    if unit := request.args.get("unit"):
        query = query.where(Submission.recommender_id == unit)
    with store_for(current_app).session() as s:
        rows = [{**summary(x), "message": _why_uncounted(x)} for x in s.scalars(query.order_by(Submission.id))]
    return page("admin/uploads.html", {"campaign": campaign.id, "title": campaign.title, "uploads": rows,
                                       "unit": unit or "", "unit_name": unit_name(cat, campaign.id, unit) if unit else ""})


def _why_uncounted(sub: Submission) -> str:
    """Why the file counts for no one: refused for who sent it, else why it could not be read."""
    errors = sub.report.get("errors") or []
    reason = next((p for p in errors if p["code"] == "SUBMITTER_MISMATCH"), errors[0] if errors else {})
    return reason.get("message", "")


@bp.route("/ingest", methods=["GET", "POST"])
@login_required("admin")
def ingest():
    cat = catalog()
    data: dict[str, Any] = {"campaigns": [{"id": c.id, "title": c.title} for c in cat.campaigns.values()],
                            "submitters": {c.id: [{"id": r["id"], "name": r["name"]}
                                                  for r in cat.entities(c.data.get("submitters", ""))]
                                           for c in cat.campaigns.values()}, "error": ""}
    if request.method == "GET":
        return page("admin/ingest.html", data)
    campaign_id, who = request.form.get("campaign", ""), request.form.get("recommender", "")
    files = [f for f in request.files.getlist("files") if f.filename]
    if campaign_id not in cat.campaigns or who not in {r["id"] for r in data["submitters"].get(campaign_id, [])}:
        data["error"] = "请选择征集活动和报送单位。"
        return page("admin/ingest.html", data, 400)
    if not files:
        data["error"] = "请选择 zip 压缩包或多个文件。"
        return page("admin/ingest.html", data, 400)
    store = store_for(current_app)
    sources = []
    with store.session.begin() as s:
        for f in files:
            blob = f.read()
            sha = store.files.put(blob)
            if s.get(StoredFile, sha) is None:
                s.add(StoredFile(sha256=sha, size=len(blob)))
                s.flush()
            sources.append({"kind": "stored", "sha256": sha, "name": f.filename})
    try:
        job_id = create_job(store, sources, campaign_id, who, g.user.username)
    except IntakeError as exc:  # too many of this user's jobs waiting: the files stay stored, nothing is lost
        abort(exc.http_status, exc.message)
    runner_for(current_app).submit(job_id)
    return redirect(url_for("admin.job", job_id=job_id))


@bp.get("/jobs/<int:job_id>")
@login_required("admin")
def job(job_id: int):
    try:
        data = job_summary(store_for(current_app), job_id)
    except LookupError:
        abort(404)
    for item in data["items"]:
        item["label"] = STATUS_LABELS.get(item["result"], "等待处理" if item["state"] == "pending" else item["result"])
        item["url"] = url_for("recommender.submission", submission_id=item["submission_id"]) if item["submission_id"] else ""
    data["percent"] = int(100 * data["done"] / data["total"]) if data["total"] else (100 if data["state"] == "done" else 0)
    data["count_labels"] = {STATUS_LABELS.get(k, k): v for k, v in data["counts"].items()}
    if data["kind"] == COMPILE_KIND:
        data["scope"] = _scope_name(data["campaign"], data["recommender"])
        data["result_url"] = url_for("admin.job_result", job_id=job_id) if data["state"] == "done" else ""
        return page("admin/compile_job.html", data)
    return page("admin/job.html", data)


def _scope_name(campaign_id: str, recommender_id: str) -> str:
    cat = catalog()
    campaign = cat.campaigns.get(campaign_id)
    if campaign is None:
        return campaign_id
    if not recommender_id:
        return f"{campaign.title}（全部报送单位）"
    names = {r["id"]: r["name"] for r in cat.entities(campaign.data.get("submitters", ""))}
    return f"{campaign.title}（{names.get(recommender_id, recommender_id)}）"


@bp.post("/compile")
@login_required("admin")
def compile_start():
    """Queue the 资料汇编: converting every document takes minutes for a whole campaign, so it is a job."""
    cat = catalog()
    campaign_id, who = request.form.get("campaign", ""), request.form.get("recommender", "")
    campaign = cat.campaigns.get(campaign_id)
    if campaign is None or (who and who not in {r["id"] for r in cat.entities(campaign.data.get("submitters", ""))}):
        abort(400, "请选择征集活动和报送单位。")
    try:
        job_id = create_compile_job(store_for(current_app), campaign_id, who or None, g.user.username)
    except IntakeError as exc:
        abort(exc.http_status, exc.message)
    runner_for(current_app).submit(job_id)
    return redirect(url_for("admin.job", job_id=job_id))


@bp.get("/jobs/<int:job_id>/result")
@login_required("admin")
def job_result(job_id: int):
    """The PDF a finished compile job produced."""
    store = store_for(current_app)
    with store.session() as s:
        job = s.get(Job, job_id)
        if job is None or job.kind != COMPILE_KIND or not job.result_sha256:
            abort(404)
        sha, campaign_id, who = job.result_sha256, job.campaign_id, job.recommender_id
    name = f"{campaign_id}-资料汇编{'-' + who if who else ''}.pdf"
    with store.session.begin() as s:
        audit(s, g.user.username, "export", f"campaign:{campaign_id}", kind="pdf", name=name, job=job_id)
    return send_download(store.files.get(sha), name, "application/pdf")


@bp.get("/review")
@login_required("admin")
def review():
    campaign = _campaign_arg()
    store = store_for(current_app)
    with store.session() as s:
        subs = list(s.scalars(select(Submission).where(Submission.campaign_id == campaign.id,
                                                       Submission.is_current.is_(True),
                                                       Submission.status.in_(("needs_review", "late")))
                              .order_by(Submission.id)))
    items = []
    cat = catalog()
    for sub in subs:
        done = acknowledged(sub.report)
        for p in [*sub.report.get("warnings", []), *sub.cross_problems]:
            if p["severity"] != "review" or document_level_done(p, done):
                continue
            items.append({"submission_id": sub.id, "file": sub.original_name, "recommender": sub.recommender_id,
                          "recommender_name": unit_name(cat, sub.campaign_id, sub.recommender_id),
                          "path": p.get("path") or "", "document_path": DOCUMENT_DECISION + p["code"], "title": p.get("title", ""), "code": p["code"],
                          "message": staff_message(store, sub, p), "candidates": p.get("candidates", []),
                          "where": (p.get("where") or {}).get("text", ""),
                          **picture_urls(sub.id, picture_for(sub.report, p)),
                          "url": url_for("recommender.submission", submission_id=sub.id)})
    codes = sorted({i["code"] for i in items if not i["code"].startswith("FIELD_")})
    return page("admin/review.html", {"campaign": campaign.id, "title": campaign.title, "items": items,
                                      "bulk_codes": [{"code": c, "title": entry(c).title,
                                                      "count": len({i["submission_id"] for i in items if i["code"] == c})}
                                                     for c in codes],
                                      "campaigns": [{"id": c.id, "title": c.title} for c in catalog().campaigns.values()]})


@bp.post("/review/<int:submission_id>")
@login_required("admin")
def review_decide(submission_id: int):
    path, action = request.form.get("path", ""), request.form.get("action", "")
    value: Any = request.form.get("value")
    if value in (None, ""):
        value = None
    else:
        with store_for(current_app).session() as s:
            sub = s.get(Submission, submission_id)
            if sub is None:
                abort(404)
            flagged = next((p for p in sub.report.get("warnings", []) if p.get("path") == path), {})
        # Candidates keep their type (a count stays a number).
        value = next((c for c in flagged.get("candidates", []) if str(c) == value), value)
        if isinstance(value, str) and value.isdigit() and path.split(".")[-1] in _integer_keys(sub):
            value = int(value)
    try:
        decide(store_for(current_app), submission_id, path, action, g.user.username, value, request.form.get("note", ""))
        flash("已记录复核决定。")
    except IntakeError as exc:
        flash(exc.message)
    return redirect(request.referrer or url_for("admin.review"))


def _integer_keys(sub: Submission) -> set[str]:
    form = catalog().campaign(sub.campaign_id).forms.get(sub.form_id or "")
    return {f.key for f in form.fields if f.type == "integer"} if form else set()


@bp.get("/exports")
@login_required("admin")
def exports():
    cat = catalog()
    store = store_for(current_app)
    with store.session() as s:
        recent = [{"id": j.id, "state": j.state, "scope": _scope_name(j.campaign_id, j.recommender_id),
                   "created_at": j.created_at.isoformat(timespec="minutes"), "created_by": j.created_by,
                   "url": url_for("admin.job", job_id=j.id)}
                  for j in s.scalars(select(Job).where(Job.kind == COMPILE_KIND).order_by(Job.id.desc()).limit(10))]
    return page("admin/exports.html", {"compilations": recent, "campaigns": [
        {"id": c.id, "title": c.title, "has_summary": "summary_table" in c.forms,
         "forms": [{"id": f.id, "title": f.title} for f in c.forms.values()],
         "recommenders": [{"id": r["id"], "name": r["name"]} for r in cat.entities(c.data.get("submitters", ""))]}
        for c in cat.campaigns.values()]})


@bp.get("/exports/<campaign_id>/<kind>")
@login_required("admin")
def export_file(campaign_id: str, kind: str):
    if kind not in ("xlsx", "csv", "json", "summary"):
        abort(404)
    try:
        content, name, media = export(store_for(current_app), actor(), campaign_id, kind,
                                      form_id=request.args.get("form") or None)
    except IntakeError as exc:
        abort(exc.http_status, exc.message)
    return send_download(content, name, media.split(";")[0])  # Flask adds the charset


@bp.post("/confirm")
@login_required("admin")
def confirm():
    """批量确认 a document-level item for the whole campaign, or for the submissions ticked in the queue."""
    campaign_id, code = request.form.get("campaign", ""), request.form.get("code", "")
    ids = [int(x) for x in request.form.getlist("submission") if x.isdigit()] or None
    try:
        done = confirm_items(store_for(current_app), campaign_id, code, request.form.get("reason", ""), actor(), ids)
        flash(f"已确认 {len(done)} 份材料的“{entry(code).title}”。")
    except IntakeError as exc:
        flash(exc.message, "error")
    return redirect(url_for("admin.review", campaign=campaign_id), 303)
