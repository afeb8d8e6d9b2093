"""Pages for recommenders (provincial departments, 计划单列市, 行指委, Liaoning lead schools).

Upload forms and attachments, read each file's report (every problem with its field, its place in the document and
how to fix it), download the file back marked up, see the quota used, the ranked list as the platform sees it,
cross-form disagreements and late marks, resubmit and follow the history. A recommender only ever sees its own
submissions; administrators may open any of them.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, request, url_for
from sqlalchemy import select

from service.actions.history import history
from service.actions.intake import IntakeError, add_attachment, attachment_problems, receive
from service.actions.marked_copy import marked_copy
from service.forms.catalog import catalog
from service.outputs.exports import STATUS_LABELS
from service.store import store_for
from service.store.models import Submission
from service.validate.rules.recommender import recommender_of
from service.web.auth import entity_name, login_required
from service.web.pages import page, send_download

bp = Blueprint("recommender", __name__, url_prefix="/r")
MAX_FILES = 20


def campaigns_for(entity_id: str) -> list[Any]:
    """Campaigns whose submitters list holds this unit (推荐单位 → jth-2020, 辽宁集团 → ln-2018)."""
    cat = catalog()
    return [c for c in cat.campaigns.values()
            if any(row.get("id") == entity_id for row in cat.entities(c.data.get("submitters", "")))]


def _own(submission_id: int) -> Submission:
    """The submission if this user may see it; 404 otherwise, exactly as for an id that does not exist, so that a
    unit cannot learn which ids other units' submissions have."""
    with store_for(current_app).session() as s:
        sub = s.get(Submission, submission_id)
        if sub is None or g.user.role != "admin" and sub.recommender_id != g.user.entity_id:
            abort(404)
        _ = list(sub.attachments)
        s.expunge_all()
        return sub


def problem_rows(sub: Submission) -> list[dict[str, Any]]:
    report = sub.report
    out = []
    for p in [*report.get("errors", []), *sub.cross_problems, *report.get("warnings", [])]:
        where = (p.get("where") or {}).get("text", "")
        out.append({"code": p["code"], "severity": p["severity"], "title": p.get("title", ""), "where": where,
                    "message": p["message"], "path": p.get("path", "")})
    out += [{**p, "where": "", "title": "", "path": ""} for p in attachment_problems(sub, catalog())]
    order = {"error": 0, "review": 1, "info": 2}
    return sorted(out, key=lambda p: order.get(p["severity"], 3))


def summary(sub: Submission) -> dict[str, Any]:
    form = catalog().campaign(sub.campaign_id).forms.get(sub.form_id or "")
    return {"id": sub.id, "campaign": sub.campaign_id, "form": sub.form_id, "form_title": form.title if form else "（未识别）",
            "file": sub.original_name, "version": sub.version, "is_current": sub.is_current, "status": sub.status,
            "status_label": STATUS_LABELS.get(sub.status, sub.status), "late": sub.late,
            "group": sub.record.get("group_name", ""), "received_at": sub.received_at.isoformat(timespec="seconds"),
            "url": url_for("recommender.submission", submission_id=sub.id)}


@bp.get("/")
@login_required("recommender")
def dashboard():
    entity = g.user.entity_id
    store = store_for(current_app)
    views = []
    with store.session() as s:
        for c in campaigns_for(entity):
            subs = list(s.scalars(select(Submission).where(Submission.campaign_id == c.id,
                                                           Submission.recommender_id == entity,
                                                           Submission.is_current.is_(True))
                                  .order_by(Submission.id)))
            rules = c.data.get("rules", {})
            quota_spec = rules.get("quota")
            quota = None
            if quota_spec:
                row = catalog().entity(c.data["submitters"], entity)
                rtype = c.recommender_type(row.get("type", ""))
                # Counted as the quota rule counts: readable letters that name this unit as their recommender.
                groups = {x.entity_key for x in subs if x.form_id == quota_spec["count_form"] and x.readable
                          and (recommender_of(catalog(), c, x.record) or {}).get("id") in (entity, None)}
                quota = {"used": len(groups), "limit": rtype["quota"] if rtype else None,
                         "label": rtype["label"] if rtype else ""}
            ranked = []
            table = next((x for x in subs if rules.get("ranking") and x.form_id == rules["ranking"]["form"]), None)
            if table is not None:
                letters = {x.record.get("group_name", ""): x for x in subs if x.form_id == (quota_spec or {}).get("count_form")}
                for row in sorted(table.record.get("rows", []), key=lambda r: r.get("rank") or 999):
                    letter = letters.get(row.get("group_name", ""))
                    ranked.append({"rank": row.get("rank"), "group_name": row.get("group_name", ""),
                                   "letter": summary(letter) if letter else None})
            cross = [{"file": x.original_name, "code": p["code"], "message": p["message"]}
                     for x in subs for p in x.cross_problems if p["severity"] != "info"]
            views.append({"id": c.id, "title": c.title, "deadline": c.data["deadline"], "quota": quota,
                          "ranked": ranked, "cross": cross, "submissions": [summary(x) for x in subs],
                          "late": [summary(x) for x in subs if x.late]})
    return page("recommender/dashboard.html", {"entity": entity, "entity_name": entity_name(entity), "campaigns": views})


@bp.route("/upload", methods=["GET", "POST"])
@login_required("recommender")
def upload():
    entity = g.user.entity_id
    choices = campaigns_for(entity)
    kinds = [{"campaign": c.id, "id": a["id"], "title": a["title"]} for c in choices for a in c.data.get("attachments", [])]
    data: dict[str, Any] = {"campaigns": [{"id": c.id, "title": c.title} for c in choices], "attachment_kinds": kinds,
                            "results": [], "error": ""}
    if request.method == "GET":
        return page("recommender/upload.html", data)
    campaign_id = request.form.get("campaign") or (choices[0].id if choices else "")
    if campaign_id not in {c.id for c in choices}:
        abort(403)
    files = [f for f in request.files.getlist("files") if f.filename]
    extras = [f for f in request.files.getlist("attachments") if f.filename]
    if not files:
        data["error"] = "请选择要上传的表格文件。"
        return page("recommender/upload.html", data, 400)
    if len(files) + len(extras) > MAX_FILES:
        data["error"] = f"一次最多上传 {MAX_FILES} 个文件，请分批上传。"
        return page("recommender/upload.html", data, 400)
    kind = request.form.get("attachment_kind", "")
    store = store_for(current_app)
    attachments = [(kind, f.filename, f.read()) for f in extras] if len(files) == 1 else []
    if extras and len(files) > 1:
        data["error"] = "附件只能随单个表格一起上传；请在提交后的报告页面为对应的表格添加附件。"
        return page("recommender/upload.html", data, 400)
    for f in files:
        try:
            got = receive(store, f.read(), f.filename, campaign_id=campaign_id, recommender_id=entity,
                          uploader=g.user.username, channel="web", attachments=attachments)
        except IntakeError as exc:
            data["error"] = exc.message
            return page("recommender/upload.html", data, exc.http_status)
        row = got.to_dict()
        row["status_label"] = STATUS_LABELS.get("duplicate" if got.outcome == "duplicate" else got.status, got.status)
        row["url"] = url_for("recommender.submission", submission_id=got.submission_id) if got.submission_id else ""
        data["results"].append(row)
    return page("recommender/upload.html", data, 201 if request.args.get("format") == "json" else 200)


@bp.get("/submissions/<int:submission_id>")
@login_required("recommender", "admin")
def submission(submission_id: int):
    sub = _own(submission_id)
    report = sub.report
    c = catalog().campaign(sub.campaign_id)
    kinds = [a for a in c.data.get("attachments", []) if not sub.form_id or sub.form_id in a.get("for_forms", [])]
    data = {**summary(sub), "problems": problem_rows(sub), "readable": sub.readable,
            "identified_by": report.get("identified_by", ""), "metrics": report.get("metrics", {}),
            "fields": [{"title": f["title"], "found": f["found"], "where": (f.get("where") or {}).get("text", ""),
                        "value": f.get("value"), "note": f.get("note", ""), "flag": f.get("flag", "")}
                       for f in report.get("fields", [])],
            "attachments": [{"kind": a.kind, "name": a.original_name, "media": a.media,
                             "url": url_for("recommender.attachment", submission_id=sub.id, attachment_id=a.id)}
                            for a in sub.attachments],
            "attachment_kinds": [{"id": a["id"], "title": a["title"]} for a in kinds],
            "recommender": sub.recommender_id, "recommender_name": entity_name(sub.recommender_id),
            "marked_url": url_for("recommender.marked", submission_id=sub.id),
            "file_url": url_for("recommender.original", submission_id=sub.id),
            "history_url": url_for("recommender.versions", submission_id=sub.id)}
    return page("recommender/submission.html", data)


@bp.get("/submissions/<int:submission_id>/file")
@login_required("recommender", "admin")
def original(submission_id: int):
    sub = _own(submission_id)
    return send_download(store_for(current_app).files.get(sub.sha256), sub.original_name)


@bp.get("/submissions/<int:submission_id>/attachments/<int:attachment_id>")
@login_required("recommender", "admin")
def attachment(submission_id: int, attachment_id: int):
    """An attachment as it was uploaded (a 政策文件, a 盖章扫描件)."""
    sub = _own(submission_id)
    att = next((a for a in sub.attachments if a.id == attachment_id), None)
    if att is None:
        abort(404)
    return send_download(store_for(current_app).files.get(att.sha256), att.original_name)


@bp.get("/submissions/<int:submission_id>/marked")
@login_required("recommender", "admin")
def marked(submission_id: int):
    """The file with each problem as a comment at its place (.docx) or on its cell (.xlsx)."""
    sub = _own(submission_id)
    try:
        content, name = marked_copy(store_for(current_app), sub)
    except IntakeError as exc:
        abort(exc.http_status, exc.message)
    return send_download(content, name)


@bp.get("/submissions/<int:submission_id>/history")
@login_required("recommender", "admin")
def versions(submission_id: int):
    sub = _own(submission_id)
    rows = history(store_for(current_app), submission_id)
    form = catalog().campaign(sub.campaign_id).forms.get(sub.form_id or "")
    titles = {f.path: f.title for f in form.fields} if form else {}
    for row in rows:
        for change in row["changes"]:
            parts = change["path"].split(".")
            key = f"{parts[0]}[].{parts[2]}" if len(parts) == 3 else parts[0]
            change["title"] = titles.get(key, change["path"]) + (f"（第{int(parts[1]) + 1}行）" if len(parts) == 3 else "")
        row["url"] = url_for("recommender.submission", submission_id=row["id"])
    return page("recommender/history.html", {**summary(sub), "versions": rows})


@bp.post("/submissions/<int:submission_id>/attachments")
@login_required("recommender", "admin")
def attach(submission_id: int):
    _own(submission_id)
    files = [f for f in request.files.getlist("attachments") if f.filename]
    if not files:
        flash("请选择附件文件。")
        return redirect(url_for("recommender.submission", submission_id=submission_id))
    for f in files[:MAX_FILES]:
        try:
            add_attachment(store_for(current_app), submission_id, request.form.get("kind", ""), f.filename, f.read(),
                           g.user.username)
        except IntakeError as exc:
            flash(exc.message)
            return redirect(url_for("recommender.submission", submission_id=submission_id))
    flash(f"已添加 {len(files)} 个附件。")
    return redirect(url_for("recommender.submission", submission_id=submission_id))
