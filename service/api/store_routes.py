"""The token-protected API over the store: submit returned forms, read reports and records, review, ingest in
bulk, export. Every route attaches to :data:`service.api.bp` (``/api/v1``) and is described in
:mod:`service.api.openapi`.

Who sees what: an admin sees and acts on everything; a recommender account sees and changes only the
submissions of its own unit (``recommender_id == entity_id``) — another unit's submission answers 404, as if
it did not exist; the school role may not use these endpoints (403). Review, bulk ingest and exports are for
admins. Every upload, attachment, review decision, download, export and compilation is in the audit log.
"""

from __future__ import annotations

import hashlib
import re
import threading
import zipfile
from io import BytesIO
from typing import Any

from flask import Response, current_app, jsonify, request, send_file
from sqlalchemy import func, select

from service.actions.intake import (
    DOCUMENT_DECISION,
    IntakeError,
    add_attachment,
    check_attachment,
    decide,
    history,
    receive,
)
from service.api import bp, jsonify_error
from service.api.tokens import ApiError, ApiUser, current_user, token_required
from service.forms.catalog import Campaign, Form, catalog
from service.jobs.ingest import ThreadRunner, create_job, job_summary
from service.office.safety import CATALOGUE
from service.outputs.exports import STATUS_LABELS
from service.store import Store, store_for
from service.store.audit import audit
from service.store.models import Job, StoredFile, Submission, Upload

MAX_FILES = 20
DEFAULT_PER_PAGE, MAX_PER_PAGE, MAX_PAGE = 50, 200, 100_000
MAX_ID = 2**31 - 1  # ids are 32-bit integers in PostgreSQL
STATUSES = ("accepted", "needs_review", "rejected", "late", "unreadable")
EXPORT_MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}
XLSX = EXPORT_MEDIA["xlsx"]
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")

_runner_lock = threading.Lock()


@bp.errorhandler(IntakeError)
def _intake_error(exc: IntakeError):
    return jsonify_error(exc.http_status, exc.code, exc.message)


# ---- helpers ----------------------------------------------------------------------------------------------


def _store() -> Store:
    return store_for(current_app)


def _campaign(campaign_id: str) -> Campaign:
    try:
        return catalog().campaign(campaign_id)
    except LookupError as exc:
        raise ApiError(404, "CAMPAIGN_NOT_FOUND", str(exc)) from None


def _bad(message: str, code: str = "BAD_REQUEST") -> ApiError:
    return ApiError(400, code, message)


def _int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise _bad(f"参数 {name} 应为正整数（收到“{raw[:40]}”）。")
    value = int(raw)
    if not low <= value <= high:
        raise _bad(f"参数 {name} 应在 {low} 到 {high} 之间（收到 {value}）。")
    return value


def _page() -> tuple[int, int]:
    return _int_arg("page", 1, 1, MAX_PAGE), _int_arg("per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)


def _paged(items: list[Any], total: int, page: int, per_page: int) -> dict[str, Any]:
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": (total + per_page - 1) // per_page}


def _statuses(default: tuple[str, ...] = ()) -> tuple[str, ...]:
    wanted = tuple(s for raw in request.args.getlist("status") for s in raw.split(",") if s)
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise _bad(f"参数 status 只能是：{'、'.join(STATUSES)}（收到“{unknown[0][:40]}”）。")
    return wanted or default


def _form_filter(campaign: Campaign) -> str | None:
    form_id = request.args.get("form") or None
    if form_id is not None and form_id not in campaign.forms:
        raise _bad(f"征集活动 {campaign.id} 没有表单 {form_id[:60]}（可用：{'、'.join(campaign.forms)}）。")
    return form_id


def _recommender_filter(user: ApiUser) -> str | None:
    """Admins filter by any recommender; a recommender account always sees its own unit only."""
    wanted = request.args.get("recommender") or None
    if user.is_admin:
        return wanted
    if wanted is not None and wanted != user.entity_id:
        raise ApiError(403, "FORBIDDEN", f"推荐单位账号只能查看本单位（{user.entity_id}）的材料。")
    return user.entity_id


def _acting_recommender(user: ApiUser, campaign: Campaign, requested: str | None) -> str:
    """The unit a file is submitted for: an admin names it, a recommender account is its own unit."""
    known = {row.get("id") for row in catalog().entities(campaign.data.get("submitters", "recommenders"))}
    if user.is_admin:
        rid = requested or user.entity_id
        if not rid:
            raise _bad("管理员代为提交时，须用 recommender 字段指明报送单位编号（如 edu-ln、ln-08）。",
                       "RECOMMENDER_REQUIRED")
        if rid not in known:
            raise _bad(f"《{campaign.title}》的报送单位中没有编号“{rid[:60]}”。", "RECOMMENDER_NOT_FOUND")
        return rid
    if requested and requested != user.entity_id:
        raise ApiError(403, "FORBIDDEN", f"推荐单位账号只能以本单位（{user.entity_id}）名义提交；"
                       "请不要填写 recommender 字段。")
    if user.entity_id not in known:
        raise ApiError(403, "FORBIDDEN", f"本账号所属单位（{user.entity_id}）不是《{campaign.title}》的报送单位。")
    return user.entity_id


def _iso(value) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite keeps no offset; the store writes UTC
        return value.isoformat() + "+00:00"
    return value.isoformat()


def _visible_submission(s, user: ApiUser, submission_id: int) -> Submission:
    sub = s.get(Submission, submission_id) if submission_id <= MAX_ID else None
    if sub is None or (not user.is_admin and sub.recommender_id != user.entity_id):
        raise ApiError(404, "SUBMISSION_NOT_FOUND", f"没有第 {submission_id} 号提交，或该提交不属于本单位。")
    return sub


def submission_summary(sub: Submission) -> dict[str, Any]:
    """A submission as listed: what, whose, which version, which status."""
    return {
        "id": sub.id, "campaign": sub.campaign_id, "recommender": sub.recommender_id, "form": sub.form_id,
        "entity_key": sub.entity_key, "version": sub.version, "is_current": sub.is_current,
        "superseded_by": sub.superseded_by, "status": sub.status, "status_label": STATUS_LABELS.get(sub.status, ""),
        "late": sub.late, "readable": sub.readable, "file": sub.original_name, "sha256": sub.sha256,
        "received_at": _iso(sub.received_at), "url": f"/api/v1/submissions/{sub.id}",
    }


def submission_detail(sub: Submission) -> dict[str, Any]:
    """A submission with its record, its parse report, the problems across submissions and its attachments."""
    return {
        **submission_summary(sub),
        "record": sub.record,
        "report": sub.report,
        "cross_problems": sub.cross_problems,
        "attachments": [{"id": a.id, "kind": a.kind, "file": a.original_name, "media": a.media, "sha256": a.sha256,
                         "created_at": _iso(a.created_at)} for a in sub.attachments],
        "file_url": f"/api/v1/submissions/{sub.id}/file",
        "history_url": f"/api/v1/submissions/{sub.id}/history",
    }


def _detail_of(submission_id: int) -> dict[str, Any]:
    with _store().session() as s:
        return submission_detail(s.get(Submission, submission_id))


# ---- uploads ----------------------------------------------------------------------------------------------


def _client_name(name: str | None, fallback: str) -> str:
    """The file's own name without any client path (``C:\\fakepath\\x.docx``) or control characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch >= " " and ch != "\x7f").strip()
    return base[:200] or fallback


def _check_file_count() -> None:
    count = sum(len(request.files.getlist(key)) for key in request.files)
    if count > MAX_FILES:
        raise _bad(f"一次请求最多上传 {MAX_FILES} 个文件（收到 {count} 个）。请分批上传，或把文件打包成 zip 用批量导入。",
                   "TOO_MANY_FILES")


def _the_file(what: str) -> tuple[str, bytes]:
    """The one ``file`` part of a multipart request."""
    _check_file_count()
    parts = [f for f in request.files.getlist("file") if f.filename]
    if not parts:
        raise _bad(f"请用 multipart/form-data 的 file 字段上传{what}。", "FILE_REQUIRED")
    if len(parts) > 1:
        raise _bad(f"file 字段只能有一个文件（收到 {len(parts)} 个）；多个文件请分别提交，或打包成 zip 用批量导入。",
                   "FILE_MULTIPLE")
    data = parts[0].read()
    if not data:
        raise _bad(CATALOGUE["FILE_EMPTY"]["message"], "FILE_EMPTY")
    return _client_name(parts[0].filename, "upload"), data


def _attachments(required: bool = False) -> list[tuple[str, str, bytes]]:
    """``attachments`` files with their ``attachment_kind`` (one kind for all, or one per file, in order)."""
    _check_file_count()
    files = [f for f in request.files.getlist("attachments") if f.filename]
    kinds = [k.strip() for k in request.form.getlist("attachment_kind")]
    if not files:
        if required:
            raise _bad("请用 attachments 字段上传附件，并用 attachment_kind 字段注明附件类别。", "FILE_REQUIRED")
        return []
    if not kinds or any(not k for k in kinds) or len(kinds) not in (1, len(files)):
        raise _bad(f"请为附件注明类别：attachment_kind 填一个（适用于全部附件）或与附件一一对应"
                   f"（收到 {len(files)} 个附件、{len(kinds)} 个类别）。", "ATTACHMENT_KIND_REQUIRED")
    if len(kinds) == 1:
        kinds = kinds * len(files)
    return [(kind, _client_name(f.filename, "attachment"), f.read()) for kind, f in zip(kinds, files, strict=True)]


def _attach_new(store: Store, submission_id: int, attachments: list[tuple[str, str, bytes]], user: ApiUser) -> int:
    """Add the attachments the submission does not have yet (same kind and bytes): a retried request adds nothing."""
    with store.session() as s:
        sub = s.get(Submission, submission_id)
        have = {(a.kind, a.sha256) for a in sub.attachments}
        campaign_id, form_id = sub.campaign_id, sub.form_id
    for kind, name, data in attachments:  # all checked before any is kept
        check_attachment(campaign_id, form_id, kind, data, name)
    added = 0
    for kind, name, data in attachments:
        key = (kind, hashlib.sha256(data).hexdigest())
        if key not in have:
            add_attachment(store, submission_id, kind, name, data, user.username)
            have.add(key)
            added += 1
    return added


def _send(data: bytes, mimetype: str, name: str):
    return send_file(BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=name)


# ---- who am I ---------------------------------------------------------------------------------------------


@bp.get("/me")
@token_required("admin", "recommender", "school")
def me():
    """The account the token belongs to."""
    user = current_user()
    return jsonify({"username": user.username, "display_name": user.display_name, "role": user.role,
                    "entity_id": user.entity_id})


# ---- submissions ------------------------------------------------------------------------------------------


@bp.post("/campaigns/<campaign_id>/submissions")
@token_required("admin", "recommender")
def submit(campaign_id: str):
    """Submit one returned form (with optional attachments); the same bytes again are answered as a duplicate."""
    user = current_user()
    campaign = _campaign(campaign_id)
    filename, data = _the_file("表单文件（推荐书、汇总表或工作总结）")
    recommender = _acting_recommender(user, campaign, request.form.get("recommender") or None)
    attachments = _attachments()
    store = _store()
    got = receive(store, data, filename, campaign_id=campaign.id, recommender_id=recommender,
                  uploader=user.username, channel="api", attachments=attachments)
    if got.submission_id is None:  # a concurrent identical upload that vanished: nothing to show
        raise ApiError(409, "SUBMISSION_CONFLICT", "同一文件正在被另一请求处理，请稍后重试。")
    if got.outcome == "duplicate" and attachments:
        _attach_new(store, got.submission_id, attachments, user)
    detail = _detail_of(got.submission_id)
    response = jsonify({**got.to_dict(), "status": detail["status"], "submission": detail})
    response.status_code = 200 if got.outcome == "duplicate" else 201
    response.headers["Location"] = detail["url"]
    return response


@bp.post("/submissions/<int:submission_id>/attachments")
@token_required("admin", "recommender")
def submission_attachments(submission_id: int):
    """Add attachments (政策文件, 盖章扫描件) to a submission."""
    user = current_user()
    attachments = _attachments(required=True)
    store = _store()
    with store.session() as s:
        _visible_submission(s, user, submission_id)
    added = _attach_new(store, submission_id, attachments, user)
    response = jsonify({"added": added, "submission": _detail_of(submission_id)})
    response.status_code = 201 if added else 200
    return response


def _filtered(query, campaign, user):
    """The query narrowed by the caller's unit and the recommender/form/status parameters."""
    recommender = _recommender_filter(user)
    if recommender:
        query = query.where(Submission.recommender_id == recommender)
    if form_id := _form_filter(campaign):
        query = query.where(Submission.form_id == form_id)
    if statuses := _statuses():
        query = query.where(Submission.status.in_(statuses))
    return query


@bp.get("/campaigns/<campaign_id>/submissions")
@token_required("admin", "recommender")
def submissions(campaign_id: str):
    """Submissions of a campaign, newest first, filtered and paged."""
    user = current_user()
    campaign = _campaign(campaign_id)
    page, per_page = _page()
    current = request.args.get("current", "true")
    if current not in ("true", "false", "all"):
        raise _bad("参数 current 只能是 true（仅当前版本）、false（仅已被替代的版本）或 all。")
    query = select(Submission).where(Submission.campaign_id == campaign.id)
    query = _filtered(query, campaign, user)
    if current != "all":
        query = query.where(Submission.is_current.is_(current == "true"))
    with _store().session() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        rows = s.scalars(query.order_by(Submission.id.desc()).offset((page - 1) * per_page).limit(per_page))
        return jsonify(_paged([submission_summary(sub) for sub in rows], total, page, per_page))


@bp.get("/campaigns/<campaign_id>/records")
@token_required("admin", "recommender")
def records(campaign_id: str):
    """The records of the current, readable submissions (what the forms say), filtered and paged."""
    user = current_user()
    campaign = _campaign(campaign_id)
    page, per_page = _page()
    query = select(Submission).where(Submission.campaign_id == campaign.id, Submission.is_current.is_(True),
                                     Submission.readable.is_(True))
    query = _filtered(query, campaign, user)
    with _store().session() as s:
        total = s.scalar(select(func.count()).select_from(query.subquery()))
        rows = s.scalars(query.order_by(Submission.id).offset((page - 1) * per_page).limit(per_page))
        items = [{"submission_id": sub.id, "recommender": sub.recommender_id, "form": sub.form_id,
                  "version": sub.version, "status": sub.status, "record": sub.record} for sub in rows]
        return jsonify(_paged(items, total, page, per_page))


@bp.get("/submissions/<int:submission_id>")
@token_required("admin", "recommender")
def submission(submission_id: int):
    """One submission: status, record, parse report, problems across submissions, attachments."""
    with _store().session() as s:
        return jsonify(submission_detail(_visible_submission(s, current_user(), submission_id)))


@bp.get("/submissions/<int:submission_id>/history")
@token_required("admin", "recommender")
def submission_history(submission_id: int):
    """Every version of the same form for the same group, oldest first, with field-level changes."""
    store = _store()
    with store.session() as s:
        _visible_submission(s, current_user(), submission_id)
    versions = history(store, submission_id)
    for v in versions:
        v["url"] = f"/api/v1/submissions/{v['id']}"
        if not re.search(r"(Z|[+-]\d\d:\d\d)$", v["received_at"]):  # SQLite keeps no offset; it is UTC
            v["received_at"] += "+00:00"
    return jsonify({"submission_id": submission_id, "versions": versions})


@bp.get("/submissions/<int:submission_id>/marked")
@token_required("admin", "recommender")
def submission_marked(submission_id: int):
    """The file marked up with its problems: Word comments (批注) at their places, Excel cell comments."""
    from service.actions.marked_copy import marked_copy

    user = current_user()
    store = _store()
    with store.session.begin() as s:
        sub = _visible_submission(s, user, submission_id)
        content, name = marked_copy(store, sub)
        audit(s, user.username, "download_marked", f"submission:{sub.id}")
    return _send(content, "application/octet-stream", name)


@bp.get("/submissions/<int:submission_id>/file")
@token_required("admin", "recommender")
def submission_file(submission_id: int):
    """The original bytes as they were uploaded, under their original name."""
    user = current_user()
    store = _store()
    with store.session.begin() as s:
        sub = _visible_submission(s, user, submission_id)
        sha, name = sub.sha256, sub.original_name
        audit(s, user.username, "download", f"submission:{sub.id}", sha256=sha)
    return _send(store.files.get(sha), "application/octet-stream", name)


@bp.get("/submissions/<int:submission_id>/attachments/<int:attachment_id>")
@token_required("admin", "recommender")
def attachment_file(submission_id: int, attachment_id: int):
    """An attachment's original bytes under its original name."""
    user = current_user()
    store = _store()
    with store.session.begin() as s:
        sub = _visible_submission(s, user, submission_id)
        att = next((a for a in sub.attachments if a.id == attachment_id), None) if attachment_id <= MAX_ID else None
        if att is None:
            raise ApiError(404, "ATTACHMENT_NOT_FOUND", f"第 {submission_id} 号提交没有第 {attachment_id} 号附件。")
        sha, name = att.sha256, att.original_name
        audit(s, user.username, "download", f"attachment:{att.id}", sha256=sha)
    return _send(store.files.get(sha), "application/octet-stream", name)


# ---- review -----------------------------------------------------------------------------------------------


def _check_review_path(form: Form | None, record: dict[str, Any], path: Any) -> None:
    """The path must name a field of the form (``contact_email``) or a cell of one of its tables
    (``members.3.name``, at most one row past the last)."""
    if form is None:
        raise _bad("该提交未能识别出表单，没有可复核的字段。", "REVIEW_NO_FORM")
    if not isinstance(path, str) or not path:
        raise _bad("请用 path 指明要复核的字段路径（如 contact_email、members.0.name）。", "REVIEW_PATH_UNKNOWN")
    fields = {f.path: f for f in form.fields}
    parts = path.split(".")
    if len(parts) == 1 and path in fields and not fields[path].array:
        return
    if len(parts) == 3 and f"{parts[0]}[].{parts[2]}" in fields and parts[1].isascii() and parts[1].isdigit():
        rows = record.get(parts[0])
        rows = rows if isinstance(rows, list) else None
        index = int(parts[1])
        if rows is not None and (index < len(rows) and isinstance(rows[index], dict) or index == len(rows)):
            return
        if rows is None and index == 0 and parts[0] not in record:
            return
        raise _bad(f"表格 {parts[0]} 没有第 {index + 1} 行（现有 {len(rows or [])} 行）。", "REVIEW_PATH_UNKNOWN")
    raise _bad(f"《{form.title}》中没有字段“{path[:100]}”（字段路径如 contact_email、members.0.name）。",
               "REVIEW_PATH_UNKNOWN")


@bp.post("/submissions/<int:submission_id>/review")
@token_required("admin")
def review(submission_id: int):
    """A reviewer's decision on one field: accept the value read (or a candidate), or correct it; or, with the path
    ``#CODE``, accept a document-level item (SUBMISSION_LATE, FORM_STAMP_MISMATCH …) as it is."""
    user = current_user()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise _bad("请求体应为 JSON 对象：{\"path\": 字段路径, \"action\": \"accept\" 或 \"correct\", "
                   "\"value\": 值（可选）, \"note\": 说明（可选）}。")
    action, note = body.get("action"), body.get("note", "")
    if action not in ("accept", "correct"):
        raise _bad("action 只能是 accept（采纳读取的值或候选值）或 correct（更正为 value）。", "REVIEW_ACTION")
    if not isinstance(note, str) or len(note) > 2000:
        raise _bad("note 应为不超过 2000 字的文字。")
    if action == "correct" and "value" not in body:
        raise _bad("更正（correct）须给出 value。", "REVIEW_VALUE_REQUIRED")
    store = _store()
    with store.session() as s:
        sub = _visible_submission(s, user, submission_id)
        form = catalog().form(sub.campaign_id, sub.form_id) if sub.form_id else None
        if not (isinstance(body.get("path"), str) and body["path"].startswith(DOCUMENT_DECISION)):
            _check_review_path(form, sub.record, body.get("path"))
    decide(store, submission_id, body["path"], action, user.username, value=body.get("value"), note=note)
    return jsonify(_detail_of(submission_id))


@bp.get("/review-queue")
@token_required("admin")
def review_queue():
    """Flagged fields of current submissions that are not accepted, oldest submission first."""
    page, per_page = _page()
    query = select(Submission).where(Submission.is_current.is_(True), Submission.readable.is_(True),
                                     Submission.status != "accepted")
    if campaign_id := request.args.get("campaign"):
        query = query.where(Submission.campaign_id == _campaign(campaign_id).id)
    if recommender := request.args.get("recommender"):
        query = query.where(Submission.recommender_id == recommender)
    if form_id := request.args.get("form"):
        query = query.where(Submission.form_id == form_id)
    items = []
    with _store().session() as s:
        for sub in s.scalars(query.order_by(Submission.id)):
            for problem in [*sub.report.get("errors", []), *sub.report.get("warnings", [])]:
                if not problem.get("path"):
                    continue
                items.append({"submission_id": sub.id, "campaign": sub.campaign_id, "recommender": sub.recommender_id,
                              "form": sub.form_id, "file": sub.original_name, "status": sub.status,
                              "path": problem["path"], "title": problem.get("title", ""), "code": problem["code"],
                              "severity": problem["severity"], "message": problem["message"],
                              "candidates": problem.get("candidates", []), "where": problem.get("where"),
                              "review_url": f"/api/v1/submissions/{sub.id}/review"})
    start = (page - 1) * per_page
    return jsonify(_paged(items[start:start + per_page], len(items), page, per_page))


# ---- bulk ingest ------------------------------------------------------------------------------------------


def _runner() -> ThreadRunner:
    """The app's job runner, started on first use (it resumes unfinished jobs when it starts)."""
    with _runner_lock:
        runner = current_app.extensions.get("jth_jobs")
        if runner is None:
            runner = current_app.extensions["jth_jobs"] = ThreadRunner(_store())
        return runner


def _is_archive(data: bytes) -> bool:
    """A zip that is not itself an Office document (.docx/.xlsx are zips with ``[Content_Types].xml``)."""
    if not data.startswith(ZIP_MAGIC):
        return False
    try:
        with zipfile.ZipFile(BytesIO(data)) as zf:
            return "[Content_Types].xml" not in zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return True  # a damaged zip is still an archive: the job reports ZIP_CORRUPT for it


def _queued(job_id: int) -> Response:
    """Hand a job to the runner and answer 202 with where to poll it."""
    _runner().submit(job_id)
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
    campaign = _campaign(campaign_id)
    filename, data = _the_file("zip 压缩包")
    if not _is_archive(data):
        raise _bad("批量导入只接受 .zip 压缩包；单个表单请用 POST /api/v1/campaigns/{id}/submissions 提交。",
                   "ZIP_REQUIRED")
    recommender = _acting_recommender(user, campaign, request.form.get("recommender") or None)
    store = _store()
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
    return _queued(job_id)


@bp.get("/jobs/<int:job_id>")
@token_required("admin", "recommender")
def job(job_id: int):
    """A background job: state, progress; an ingest's counts by result and items (paged), a compilation's result."""
    user = current_user()
    page, per_page = _page()
    try:
        summary = job_summary(_store(), job_id) if job_id <= MAX_ID else None
    except LookupError:
        summary = None
    if summary is None or (not user.is_admin and summary["recommender"] != user.entity_id):
        raise ApiError(404, "JOB_NOT_FOUND", f"没有第 {job_id} 号后台任务。")
    items = summary.pop("items")
    start = (page - 1) * per_page
    summary["items"] = _paged(items[start:start + per_page], len(items), page, per_page)
    return jsonify(summary)


# ---- exports ----------------------------------------------------------------------------------------------
# The export and compile modules write their own audit entries (actor = the caller).


def _not_deployed(exc: ModuleNotFoundError, module: str, what: str) -> None:
    if exc.name != module:
        raise exc
    raise ApiError(501, "NOT_IMPLEMENTED", f"{what}功能尚未部署。") from None


@bp.get("/campaigns/<campaign_id>/export")
@token_required("admin")
def export(campaign_id: str):
    """The records of a campaign as xlsx, CSV (one form) or JSON; accepted ones unless ``status`` says otherwise."""
    user = current_user()
    campaign = _campaign(campaign_id)
    fmt = request.args.get("format", "xlsx")
    if fmt not in EXPORT_MEDIA:
        raise _bad(f"参数 format 只能是：{'、'.join(EXPORT_MEDIA)}。", "EXPORT_FORMAT")
    form_id = _form_filter(campaign)
    if fmt == "csv" and form_id is None and len(campaign.forms) > 1:
        raise _bad(f"CSV 每次导出一个表单，请用参数 form 指定（可用：{'、'.join(campaign.forms)}）。",
                   "EXPORT_FORM_REQUIRED")
    statuses = _statuses(("accepted",))
    try:
        from service.outputs.exports import export_records
    except ModuleNotFoundError as exc:
        _not_deployed(exc, "service.outputs.exports", "导出")
    data = export_records(_store(), campaign.id, fmt, statuses, form_id=form_id, actor=user.username)
    name = f"{campaign.id}-{form_id or '全部表单'}-报送数据.{fmt}"
    return _send(data, EXPORT_MEDIA[fmt], name)


@bp.get("/campaigns/<campaign_id>/summary.xlsx")
@token_required("admin")
def summary_xlsx(campaign_id: str):
    """The consolidated 推荐名单汇总表 of the whole campaign."""
    user = current_user()
    campaign = _campaign(campaign_id)
    try:
        from service.outputs.exports import consolidated_summary
    except ModuleNotFoundError as exc:
        _not_deployed(exc, "service.outputs.exports", "汇总表导出")
    try:
        data = consolidated_summary(_store(), campaign.id, actor=user.username)
    except LookupError as exc:  # the campaign is known: it has no ranked list form
        raise ApiError(404, "SUMMARY_NOT_AVAILABLE", str(exc)) from None
    return _send(data, XLSX, f"{campaign.id}-推荐名单汇总表.xlsx")


@bp.post("/campaigns/<campaign_id>/compilations")
@token_required("admin", "recommender")
def start_compilation(campaign_id: str):
    """The 资料汇编 as a background job (a recommender's account compiles its own unit's)."""
    from service.jobs.compile import create_compile_job

    user = current_user()
    campaign = _campaign(campaign_id)
    recommender = _recommender_filter(user)
    if recommender and user.is_admin:
        _acting_recommender(user, campaign, recommender)
    job_id = create_compile_job(_store(), campaign.id, recommender, user.username)
    return _queued(job_id)


@bp.get("/jobs/<int:job_id>/result")
@token_required("admin", "recommender")
def job_result(job_id: int):
    """The PDF a finished compile job produced."""
    from service.jobs.compile import KIND

    user = current_user()
    store = _store()
    with store.session() as s:
        job = s.get(Job, job_id) if job_id <= MAX_ID else None
        if job is None or job.kind != KIND or (not user.is_admin and job.recommender_id != user.entity_id):
            raise ApiError(404, "JOB_NOT_FOUND", f"没有第 {job_id} 号资料汇编任务。")
        if not job.result_sha256:
            raise ApiError(404, "JOB_RESULT_NOT_READY", f"第 {job_id} 号任务尚未生成资料汇编（状态：{job.state}）。")
        sha, campaign_id, who = job.result_sha256, job.campaign_id, job.recommender_id
    with store.session.begin() as s:
        audit(s, user.username, "export", f"campaign:{campaign_id}", kind="pdf", job=job_id)
    suffix = f"-{who}" if who else ""
    return _send(store.files.get(sha), "application/pdf", f"{campaign_id}-资料汇编{suffix}.pdf")


@bp.get("/campaigns/<campaign_id>/compilation.pdf")
@token_required("admin", "recommender")
def compilation(campaign_id: str):
    """The submissions compiled into one PDF for the expert panel (a recommender gets its own unit's)."""
    user = current_user()
    campaign = _campaign(campaign_id)
    recommender = _recommender_filter(user)
    if recommender and user.is_admin:
        _acting_recommender(user, campaign, recommender)  # an unknown unit is a clear 400
    try:
        from service.outputs.dossier import CompileError, compile_pdf
    except ModuleNotFoundError as exc:
        _not_deployed(exc, "service.outputs.dossier", "PDF 汇编")
    try:
        data = compile_pdf(_store(), campaign.id, recommender_id=recommender, actor=user.username)
    except CompileError as exc:
        raise ApiError(422, "COMPILE_FAILED", str(exc)) from None
    suffix = f"-{recommender}" if recommender else ""
    return _send(data, "application/pdf", f"{campaign.id}-材料汇编{suffix}.pdf")
