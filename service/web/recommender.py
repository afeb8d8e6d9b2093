"""Pages for recommenders (provincial departments, 计划单列市, 行指委, Liaoning lead schools).

Upload forms and attachments, read each file's report (every problem with its field, its place in the document and
how to fix it), download the file back marked up, see the quota used, the ranked list as the platform sees it,
cross-form disagreements and late marks, resubmit and follow the history. A recommender only ever sees its own
submissions; administrators may open any of them.
"""

from __future__ import annotations

from io import BytesIO
from typing import Any

from flask import Blueprint, abort, current_app, flash, g, redirect, request, send_file, url_for
from sqlalchemy import select

from service.actions import downloads, shapes
from service.actions.actor import Actor, submitter_label, supervised_campaigns
from service.actions.comments import add_comment, comments
from service.actions.dismiss import dismiss
from service.actions.history import history
from service.actions.intake import IntakeError, add_attachment, receive
from service.actions.letter_order import letter_order, prefilled_summary, set_letter_order
from service.actions.lifecycle import load
from service.actions.reassign import reassign
from service.actions.restore import restore
from service.actions.return_for_changes import return_for_changes
from service.actions.status_board import STATUSES, status_board
from service.actions.withdraw import withdraw
from service.forms.catalog import catalog
from service.store import store_for
from service.store.lifecycle import COUNTED, LABELS, transitions
from service.store.models import Submission, Upload
from service.validate.rules.deadline import deadline_day
from service.validate.rules.recommender import recommender_of
from service.web.auth import entity_name, login_required
from service.web.pages import page, send_download, wants_json

bp = Blueprint("recommender", __name__, url_prefix="/r")
MAX_FILES = 20
STATUS_LABELS = {**LABELS, "duplicate": "重复"}
# The lifecycle's actions as the pages offer them; each calls its use case, which checks and audits.
ACTIONS = {"withdraw": withdraw, "dismiss": dismiss, "return": return_for_changes, "restore": restore}


def actor() -> Actor:
    return Actor(g.user.username, g.user.role, g.user.entity_id)


def campaigns_for(entity_id: str) -> list[Any]:
    """Campaigns whose submitters list holds this unit (推荐单位 → jth-2020, 辽宁集团 → ln-2018)."""
    cat = catalog()
    return [c for c in cat.campaigns.values()
            if any(row.get("id") == entity_id for row in cat.entities(c.data.get("submitters", "")))]


def _own(submission_id: int, read_only: bool = False) -> Submission:
    """The submission if this user may see it; 404 otherwise, exactly as for an id that does not exist, so that a
    unit cannot learn which ids other units' submissions have."""
    with store_for(current_app).session() as s:
        try:
            sub = load(s, submission_id, actor(), read_only=read_only)
        except IntakeError:
            abort(404)
        _ = list(sub.attachments)
        s.expunge_all()
        return sub


def summary(sub: Submission) -> dict[str, Any]:
    """The submission as listed: the one shape the API uses too."""
    return shapes.submission_summary(sub)


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
            uploads = [x for x in subs if x.status not in COUNTED]
            subs = [x for x in subs if x.status in COUNTED]
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
                          "late": [summary(x) for x in subs if x.late],
                          "uploads": [summary(x) for x in uploads if x.status not in ("dismissed", "reassigned")]})
    supervised = [{"id": c, "title": catalog().campaign(c).title, "label": submitter_label(c)}
                  for c in supervised_campaigns(entity)]
    return page("recommender/dashboard.html", {"entity": entity, "entity_name": entity_name(entity), "campaigns": views,
                                               "supervised": supervised})


@bp.get("/campaigns/<campaign_id>/overview")
@login_required("recommender", "admin")
def overview(campaign_id: str):
    """A supervisor's view (辽宁省教育厅 for ln-2018): every unit's status and reports, read only."""
    try:
        rows = status_board(store_for(current_app), campaign_id, actor(), with_submissions=True)
    except IntakeError as exc:
        abort(404 if exc.code == "CAMPAIGN_NOT_FOUND" else 403)
    campaign = catalog().campaign(campaign_id)
    return page("recommender/overview.html", {"campaign": campaign_id, "title": campaign.title, "rows": rows,
                                              "deadline": campaign.data["deadline"],
                                              "submitter_label": submitter_label(campaign_id)},
                labels=STATUS_LABELS, statuses=STATUSES)


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
    received = []
    for f in files:
        try:
            got = receive(store, f.read(), f.filename, campaign_id=campaign_id, recommender_id=entity,
                          uploader=g.user.username, channel="web", attachments=attachments)
        except IntakeError as exc:
            data["error"] = exc.message
            return page("recommender/upload.html", data, exc.http_status)
        received.append(got)
    if wants_json():
        return {"results": [_result_row(got.to_dict(), got.outcome) for got in received]}, 201
    # Post/Redirect/Get: a refresh shows the result again and never sends the files twice.
    if len(received) == 1 and received[0].submission_id and received[0].outcome != "duplicate":
        return redirect(url_for("recommender.submission", submission_id=received[0].submission_id, new=1), 303)
    return redirect(url_for("recommender.results", u=",".join(str(got.upload_id) for got in received)), 303)


def _result_row(row: dict[str, Any], outcome: str) -> dict[str, Any]:
    row["status_label"] = STATUS_LABELS.get("duplicate" if outcome == "duplicate" else row["status"], row["status"])
    row["url"] = url_for("recommender.submission", submission_id=row["submission_id"]) if row["submission_id"] else ""
    return row


@bp.get("/uploads")
@login_required("recommender", "admin")
def results():
    """What became of the files of one upload: each file with its status and every problem it has."""
    ids = [int(x) for x in request.args.get("u", "").split(",") if x.isdigit()][:MAX_FILES]
    rows = []
    with store_for(current_app).session() as s:
        for upload_id in ids:
            upload = s.get(Upload, upload_id)
            if upload is None or not actor().may_see(upload.recommender_id):
                continue
            sub = s.scalar(select(Submission).where(Submission.campaign_id == upload.campaign_id,
                                                    Submission.recommender_id == upload.recommender_id,
                                                    Submission.sha256 == upload.sha256))
            duplicate = sub is not None and sub.upload_id != upload.id
            rows.append({"name": upload.original_name, "upload_id": upload.id, "duplicate": duplicate,
                         "submission": shapes.submission_summary(sub) if sub else None,
                         "problems": shapes.problem_rows(sub, catalog()) if sub else []})
    return page("recommender/results.html", {"results": rows})


@bp.get("/submissions/<int:submission_id>")
@login_required("recommender", "admin")
def submission(submission_id: int):
    store = store_for(current_app)
    with store.session() as s:
        try:
            sub = load(s, submission_id, actor(), read_only=True)
        except IntakeError:
            abort(404)
        data = shapes.submission_detail(s, sub)
        sender = g.user.role == "recommender" and g.user.entity_id == sub.recommender_id
        c = catalog().campaign(sub.campaign_id)
        kinds = [a for a in c.data.get("attachments", []) if not sub.form_id or sub.form_id in a.get("for_forms", [])]
        units = [{"id": r["id"], "name": r["name"]} for r in catalog().entities(c.data.get("submitters", ""))
                 if r["id"] != sub.recommender_id]
        deadline = deadline_day(c, sub.recommender_id)
    staff = g.user.role == "admin"
    offered = [{"id": t, "label": transitions()[t].label, "needs_message": transitions()[t].needs_message}
               for t in data["actions"]
               if staff or (sender and transitions()[t].by & {"sender", "sender_before_deadline"})]
    page_data = {**data, "attachment_kinds": [{"id": a["id"], "title": a["title"]} for a in kinds],
                 "comments": comments(store, submission_id, actor()), "deadline": deadline,
                 "offered": offered, "units": units if staff else [], "just_uploaded": request.args.get("new") == "1",
                 "read_only": not (staff or sender), "submitter_label": submitter_label(data["campaign"])}
    return page("recommender/submission.html", page_data)


@bp.post("/submissions/<int:submission_id>/state")
@login_required("recommender", "admin")
def change_state(submission_id: int):
    """One of the lifecycle's actions, by the button that names it; the use case checks and audits."""
    _own(submission_id)
    action, note = request.form.get("action", ""), request.form.get("note", "")
    store = store_for(current_app)
    target = submission_id
    try:
        if action == "reassign":
            target = reassign(store, submission_id, request.form.get("to", ""), actor(), note)
        elif action in ACTIONS:
            ACTIONS[action](store, submission_id, actor(), note)
        else:
            abort(400)
        flash(f"已{transitions()[action].label}。")
    except IntakeError as exc:
        if exc.code == "SUBMISSION_NOT_FOUND":
            abort(404)
        flash(exc.message, "error")
    return redirect(url_for("recommender.submission", submission_id=target), 303)


@bp.post("/submissions/<int:submission_id>/comments")
@login_required("recommender", "admin")
def comment(submission_id: int):
    try:
        add_comment(store_for(current_app), submission_id, actor(), request.form.get("body", ""))
        flash("留言已发送。")
    except IntakeError as exc:
        if exc.code == "SUBMISSION_NOT_FOUND":
            abort(404)
        flash(exc.message, "error")
    return redirect(url_for("recommender.submission", submission_id=submission_id) + "#comments", 303)


@bp.get("/submissions/<int:submission_id>/file")
@login_required("recommender", "admin")
def original(submission_id: int):
    try:
        content, name = downloads.original_file(store_for(current_app), submission_id, actor())
    except IntakeError:
        abort(404)
    return send_download(content, name)


@bp.get("/submissions/<int:submission_id>/attachments/<int:attachment_id>")
@login_required("recommender", "admin")
def attachment(submission_id: int, attachment_id: int):
    """An attachment as it was uploaded (a 政策文件, a 盖章扫描件)."""
    try:
        content, name = downloads.attachment_file(store_for(current_app), submission_id, attachment_id, actor())
    except IntakeError:
        abort(404)
    return send_download(content, name)


@bp.get("/submissions/<int:submission_id>/pictures/<sha256>")
@login_required("recommender", "admin")
def picture(submission_id: int, sha256: str):
    """The picture of a value read from a scan (its cell), shown beside the review item about it: only pictures
    this submission's report names, to its unit and the staff; anything else is 404."""
    try:
        content = downloads.cell_picture(store_for(current_app), submission_id, sha256, actor())
    except IntakeError:
        abort(404)
    response = send_file(BytesIO(content), mimetype="image/png")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/submissions/<int:submission_id>/marked")
@login_required("recommender", "admin")
def marked(submission_id: int):
    """The file with each problem as a comment at its place (.docx) or on its cell (.xlsx)."""
    try:
        content, name = downloads.marked_file(store_for(current_app), submission_id, actor())
    except IntakeError as exc:
        if exc.code == "SUBMISSION_NOT_FOUND":
            abort(404)
        abort(exc.http_status, exc.message)
    return send_download(content, name)


@bp.route("/campaigns/<campaign_id>/order", methods=["GET", "POST"])
@login_required("recommender")
def order(campaign_id: str):
    """The unit puts its 推荐书 in order (the 推荐排序名单) and downloads the 汇总表 filled from them."""
    store = store_for(current_app)
    try:
        if request.method == "POST":
            ranks = {int(k[5:]): request.form.get(k, "") for k in request.form if k.startswith("rank-") and k[5:].isdigit()}
            wanted = sorted(ranks, key=lambda i: (_number(ranks[i]), i))
            set_letter_order(store, campaign_id, actor(), wanted)
            flash("推荐排序已保存。")
            return redirect(url_for("recommender.order", campaign_id=campaign_id), 303)
        data = letter_order(store, campaign_id, actor())
    except IntakeError as exc:
        if exc.code in ("CAMPAIGN_NOT_FOUND", "SUMMARY_NOT_AVAILABLE"):
            abort(404)
        flash(exc.message, "error")
        return redirect(url_for("recommender.order", campaign_id=campaign_id), 303)
    data["title"] = catalog().campaign(campaign_id).title
    return page("recommender/order.html", data)


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return float("inf")


@bp.get("/campaigns/<campaign_id>/summary.xlsx")
@login_required("recommender")
def prefilled(campaign_id: str):
    """The 推荐名单汇总表 filled from the unit's letters in its order, to check, stamp and send back."""
    try:
        content, name = prefilled_summary(store_for(current_app), campaign_id, actor())
    except IntakeError as exc:
        abort(404 if exc.code in ("CAMPAIGN_NOT_FOUND", "SUMMARY_NOT_AVAILABLE") else exc.http_status)
    return send_download(content, name)


@bp.get("/submissions/<int:submission_id>/history")
@login_required("recommender", "admin")
def versions(submission_id: int):
    sub = _own(submission_id, read_only=True)
    rows = history(store_for(current_app), submission_id)
    form = catalog().campaign(sub.campaign_id).forms.get(sub.form_id or "")
    titles = {f.path: f.title for f in form.fields} if form else {}
    for row in rows:
        for change in row["changes"]:
            parts = change["path"].split(".")
            key = f"{parts[0]}[].{parts[2]}" if len(parts) == 3 else parts[0]
            change["title"] = titles.get(key, change["path"]) + (f"（第{int(parts[1]) + 1}行）" if len(parts) == 3 else "")
        row["url"] = url_for("recommender.submission", submission_id=row["id"])  # history rows: the page
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
