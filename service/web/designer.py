"""The form designer in the staff pages: upload a document, see the proposed fields beside a picture of its pages,
edit keys, titles, types and what is required, preview a rendered and a parsed-back copy, publish.

The pages only translate requests: every step is a use case of :mod:`service.actions.form_designer`. Forms are
published into the instance layer (``FORMS_DATA``, default ``instance/forms-data``), which every process's
catalogue lays over the shipped data (:mod:`service.forms.catalog`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for

from service.actions.form_designer import (
    ONE_PER,
    DesignRefused,
    create_from_document,
    get_draft,
    list_drafts,
    preview,
    publish,
    update_fields,
)
from service.actions.form_fields import KIND_NOTES, KINDS, TABLE, TABLE_LABEL, Mistake
from service.actions.intake import IntakeError
from service.forms.catalog import catalog, forms_layer
from service.store import store_for
from service.store.files import FileMissing
from service.store.models import FormDraft
from service.web.auth import login_required
from service.web.pages import page, send_download
from service.web.recommender import actor

bp = Blueprint("designer", __name__, url_prefix="/admin/designer")
STATES = {"draft": "草稿（未发布）", "published": "已发布"}
PNG = "image/png"


def _layer() -> Path | None:
    return forms_layer(current_app)


def _campaigns() -> list[dict[str, str]]:
    return [{"id": c.id, "title": c.title} for c in catalog().campaigns.values()]


def _control(at: str) -> str:
    """The id of the control a mistake is about: ``fields.3.key`` → ``f-3-key``, ``fields.4.columns.1.title`` →
    ``f-4-c1-title``; the form's own settings keep their names."""
    parts = at.split(".")
    if parts[0] != "fields" or len(parts) < 3:
        return {"title": "form-title", "one_per": "form-one-per", "campaign": "new-campaign",
                "form_id": "new-form-id", "document": "new-document"}.get(at, "")
    if parts[2] == "columns" and len(parts) >= 5:
        return f"f-{parts[1]}-c{parts[3]}-{parts[4]}"
    return f"f-{parts[1]}-{parts[2]}"


def _summary(mistakes: list[Mistake]) -> list[dict[str, str]]:
    return [{"target": _control(m.at), "where": "", "message": m.message} for m in mistakes]


def _draft_row(d: FormDraft) -> dict[str, Any]:
    return {"id": d.id, "title": d.title, "campaign": d.campaign_id, "form": d.form_id, "file": d.filename,
            "state": d.state, "state_label": STATES.get(d.state, d.state), "version": d.version,
            "updated_at": d.updated_at.isoformat(timespec="minutes"), "updated_by": d.updated_by,
            "url": url_for("designer.edit", draft_id=d.id)}


@bp.route("/", methods=["GET", "POST"])
@login_required("admin")
def index():
    """The drafts, and a new one from an uploaded document."""
    store = store_for(current_app)
    data: dict[str, Any] = {"campaigns": _campaigns(), "drafts": [_draft_row(d) for d in list_drafts(store)],
                            "errors": [], "campaign": request.form.get("campaign", ""),
                            "form_id": request.form.get("form_id", "")}
    if request.method == "GET":
        return page("designer/index.html", data)
    upload = request.files.get("document")
    try:
        draft_id = create_from_document(store, actor(), upload.read() if upload else b"",
                                        upload.filename if upload else "", data["campaign"],
                                        data["form_id"].strip(), layer=_layer())
    except DesignRefused as exc:
        data["errors"] = _summary(exc.mistakes)
        return page("designer/index.html", data, exc.http_status)
    flash("已根据上传的表格生成字段草稿：请核对每个字段的字段名、标题、类型和是否必填。")
    return redirect(url_for("designer.edit", draft_id=draft_id), 303)


def _draft_or_404(draft_id: int) -> FormDraft:
    try:
        return get_draft(store_for(current_app), draft_id)
    except IntakeError:
        abort(404)


def _posted(draft: FormDraft) -> list[dict[str, Any]]:
    """The fields as edited on the page, over the draft's own (their labels and places stay the draft's)."""
    form = request.form
    out = []
    for i, item in enumerate(draft.fields):
        edited = {**item, "key": form.get(f"f-{i}-key", ""), "title": form.get(f"f-{i}-title", ""),
                  "required": form.get(f"f-{i}-required") == "1"}
        if item["kind"] == TABLE:
            edited["columns"] = [{**col, "key": form.get(f"f-{i}-c{j}-key", ""),
                                  "title": form.get(f"f-{i}-c{j}-title", ""),
                                  "kind": form.get(f"f-{i}-c{j}-kind", ""),
                                  "options": form.get(f"f-{i}-c{j}-options", ""),
                                  "required": form.get(f"f-{i}-c{j}-required") == "1"}
                                 for j, col in enumerate(item.get("columns", []))]
        else:
            edited["kind"] = form.get(f"f-{i}-kind", "")
            edited["options"] = form.get(f"f-{i}-options", "")
        out.append(edited)
    return out


def _settings() -> dict[str, str]:
    return {"title": request.form.get("title", ""), "annex": request.form.get("annex", ""),
            "one_per": request.form.get("one_per", "recommender")}


def _editor(draft: FormDraft, *, items: list[dict] | None = None, settings: dict | None = None,
            mistakes: list[Mistake] = (), refused: str = "", status: int = 200):
    """The editor page: the pictures, the fields (as saved, or as posted with their mistakes), the last preview."""
    by_control: dict[str, list[str]] = {}
    for m in mistakes:
        by_control.setdefault(_control(m.at), []).append(m.message)
    settings = settings or {"title": draft.title, "annex": draft.annex, "one_per": draft.one_per}
    items = items if items is not None else draft.fields
    for i, item in enumerate(items):
        item["options_text"] = "\n".join(item.get("options") or []) if not isinstance(item.get("options"), str) \
            else item["options"]
        for j, col in enumerate(item.get("columns", [])):
            col["options_text"] = "\n".join(col.get("options") or []) if not isinstance(col.get("options"), str) \
                else col["options"]
            col["index"] = j
        item["index"] = i
    campaign = catalog().campaigns.get(draft.campaign_id)
    published = campaign is not None and draft.form_id in campaign.forms and draft.version
    data = {
        "draft": _draft_row(draft), "settings": settings, "fields": [i for i in items if i["kind"] != TABLE],
        "tables": [i for i in items if i["kind"] == TABLE],
        "kinds": [{"id": k, "label": v[0], "note": KIND_NOTES[k]} for k, v in KINDS.items()],
        "table_label": TABLE_LABEL, "one_per_options": [{"id": k, "label": v} for k, v in ONE_PER.items()],
        "campaign_title": campaign.title if campaign else draft.campaign_id,
        "pages": [url_for("designer.picture", draft_id=draft.id, n=n + 1) for n in range(len(draft.pages))],
        "picture_note": draft.picture_note, "preview": draft.preview, "schema": draft.schema,
        "fill_url": url_for("schools.fill", campaign_id=draft.campaign_id, form_id=draft.form_id) if published else "",
        "errors": _summary(list(mistakes)), "refused": refused,
    }
    return page("designer/edit.html", data, status, errors_by_control=by_control)


@bp.get("/<int:draft_id>")
@login_required("admin")
def edit(draft_id: int):
    return _editor(_draft_or_404(draft_id))


def _save(draft: FormDraft):
    """Save what was posted; the saved draft, or the editor page with the mistakes (the second value)."""
    items, settings = _posted(draft), _settings()
    try:
        return update_fields(store_for(current_app), actor(), draft.id, items, **settings), None
    except DesignRefused as exc:
        return None, _editor(draft, items=items, settings=settings, mistakes=exc.mistakes, refused=exc.message,
                             status=exc.http_status)


@bp.post("/<int:draft_id>")
@login_required("admin")
def save(draft_id: int):
    saved, refused = _save(_draft_or_404(draft_id))
    if refused is not None:
        return refused
    flash("草稿已保存。")
    return redirect(url_for("designer.edit", draft_id=draft_id), 303)


@bp.post("/<int:draft_id>/preview")
@login_required("admin")
def preview_draft(draft_id: int):
    """Save, then render a copy with sample values and read it back."""
    saved, refused = _save(_draft_or_404(draft_id))
    if refused is not None:
        return refused
    try:
        preview(store_for(current_app), actor(), draft_id, layer=_layer())
    except DesignRefused as exc:
        return _editor(saved, mistakes=exc.mistakes, refused=exc.message, status=exc.http_status)
    except IntakeError as exc:
        return _editor(saved, mistakes=[Mistake("", exc.message)], refused=exc.message, status=exc.http_status)
    flash("已生成预览：见页面下方“预览”。")
    return redirect(url_for("designer.edit", draft_id=draft_id, _anchor="preview"), 303)


@bp.post("/<int:draft_id>/publish")
@login_required("admin")
def publish_draft(draft_id: int):
    """Save, then publish into the campaign; a refusal shows the data's problems and writes nothing."""
    saved, refused = _save(_draft_or_404(draft_id))
    if refused is not None:
        return refused
    try:
        version = publish(store_for(current_app), actor(), draft_id, layer=_layer())
    except DesignRefused as exc:
        return _editor(saved, mistakes=exc.mistakes, refused=exc.message, status=exc.http_status)
    except IntakeError as exc:
        return _editor(saved, mistakes=[Mistake("", exc.message)], refused=exc.message, status=exc.http_status)
    flash(f"已发布《{saved.title}》（{version} 版）：学校现在可以在网上填写和下载这张表单。")
    return redirect(url_for("designer.edit", draft_id=draft_id), 303)


@bp.get("/<int:draft_id>/pages/<int:n>")
@login_required("admin")
def picture(draft_id: int, n: int):
    draft = _draft_or_404(draft_id)
    if not 1 <= n <= len(draft.pages):
        abort(404)
    try:
        content = store_for(current_app).files.get(draft.pages[n - 1])
    except FileMissing:
        abort(404)
    response = current_app.response_class(content, mimetype=PNG)
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/<int:draft_id>/preview-copy")
@login_required("admin")
def preview_copy(draft_id: int):
    """The copy the last preview rendered with sample values."""
    draft = _draft_or_404(draft_id)
    if not draft.preview:
        abort(404)
    content = store_for(current_app).files.get(draft.preview["sha256"])
    return send_download(content, f"预览-{draft.preview['filename']}")


@bp.get("/<int:draft_id>/document")
@login_required("admin")
def document(draft_id: int):
    """The document as it was uploaded (the template once published)."""
    draft = _draft_or_404(draft_id)
    return send_download(store_for(current_app).files.get(draft.document_sha256), draft.filename)

