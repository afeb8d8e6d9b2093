"""The form designer: a new form from the document people already know, made and published by staff without code.

1. **create** (:func:`create_from_document`): the uploaded .docx/.xlsx is kept in the file store, ``forms
   scaffold`` proposes its fields (:mod:`service.forms.scaffold`), each given an ASCII key, and pictures of its
   first pages are made (LibreOffice → PDF → PNG) to show beside the fields.
2. **update** (:func:`update_fields`): keys, titles, types and what is required, as edited; the draft's JSON Schema
   (draft 2020-12) is made again from them (the fields and their schema: :mod:`service.actions.form_fields`). A title that differs from the label in the document keeps the label
   as ``x-label``, so the field is still found there.
3. **preview** (:func:`preview`): the form as it would be published, tried in a copy of the instance layer: a copy
   rendered with sample values, that copy read back by the parser (each field found or not), and ``forms check``.
4. **publish** (:func:`publish`): the schema, the document (as the template) and the form's entry in its campaign
   are written into a copy of the instance layer, the whole catalogue is loaded from it, and only when it loads
   and the template passes ``forms check`` are the files moved into place (campaign file last). A problem refuses
   the publication with the catalogue's Chinese messages, and nothing is written. A form published before gets a
   new version when its structure changed: the old schema and template are kept and registered in ``versions``,
   so files issued under it are read with their own layout.

Drafts are rows of ``form_drafts`` (their document in the file store): every process and host of the service sees
the same drafts, a backup of the database and the file store holds them, and each change is one transaction,
audited. Published forms are files in the instance layer (:mod:`service.forms.catalog`), like the shipped ones.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import io
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from service.actions.actor import Actor
from service.actions.form_fields import (
    CELL_LIKE,
    MAX_TITLE,
    Mistake,
    build_schema,
    check_fields,
    clean_items,
    proposed_fields,
    read_back,
    sample_record,
)
from service.actions.intake import IntakeError
from service.forms.catalog import ROOT, Catalog, Form, catalog, load_catalog
from service.forms.datafile import DataError
from service.forms.scaffold import ScaffoldError, scaffold
from service.forms.versions import fingerprint, next_version
from service.office.convert.client import get_converter
from service.office.convert.protocol import ConversionError
from service.office.limits import DEFAULT_LIMITS
from service.office.rejected import InputRejected
from service.office.sniff import sniff_open
from service.parse.pipeline import parse
from service.parse.read import SPREADSHEET_EXTS
from service.problems.catalogue import message
from service.render.check import inspect_form
from service.render.form import render
from service.render.prepare import TemplateError
from service.store import Store
from service.store.audit import audit
from service.store.models import FormDraft, StoredFile, utcnow

FORM_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
PICTURE_DPI = 80
PICTURE_MARGIN = 12  # pixels of white kept around what is printed on a page
PICTURE_PAGES = 4
BEFORE_ANY_DEADLINE = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # a preview is not late: no deadline is its business
ONE_PER = {"recommender": "每个报送单位一份", "group": "每个集团一份"}
SNIFFED_KINDS = {"pdf": " PDF 文件", "picture": "图片"}


class DesignRefused(Exception):
    """What the designer refuses, worded by the catalogue: the refusal itself (``message``) and each mistake."""

    def __init__(self, summary: str, mistakes: list[Mistake], http_status: int = 422) -> None:
        self.message, self.mistakes, self.http_status = summary, mistakes, http_status
        super().__init__(summary)


@dataclass
class Preview:
    """What a preview found: the sample copy, each field read back, and ``forms check``'s verdict."""

    sha256: str
    filename: str
    fields: list[dict[str, Any]] = field(default_factory=list)  # path, title, sample, read, status
    found: int = 0
    check: list[dict[str, str]] = field(default_factory=list)  # path, title, how and where anchored
    problems: list[str] = field(default_factory=list)  # forms check's problems
    notes: list[str] = field(default_factory=list)  # forms check's notes, and what parsing reported

    def to_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "filename": self.filename, "fields": self.fields, "found": self.found,
                "total": len(self.fields), "check": self.check, "problems": self.problems, "notes": self.notes,
                "at": utcnow().isoformat(timespec="seconds")}


# ---- pictures of the pages --------------------------------------------------------------------------------------


def page_pictures(data: bytes, kind: str, converter: Any = None, dpi: int = PICTURE_DPI,
                  pages: int = PICTURE_PAGES) -> list[bytes]:
    """PNG pictures of the document's first ``pages`` pages at ``dpi``: LibreOffice makes a PDF, PDFium draws it.
    Raises ConversionError when LibreOffice cannot, ValueError when the PDF cannot be drawn."""
    import pypdfium2 as pdfium

    pdf = (converter or get_converter()).convert(data, "." + kind, "pdf")
    try:
        doc = pdfium.PdfDocument(pdf)
    except pdfium.PdfiumError as exc:
        raise ValueError(str(exc)) from None
    out = []
    try:
        for i in range(min(len(doc), pages)):
            bitmap = doc[i].render(scale=dpi / 72.0)
            picture = _printed(bitmap.to_pil().convert("RGB"))
            buffer = io.BytesIO()
            picture.save(buffer, "PNG", optimize=True)
            out.append(buffer.getvalue())
    finally:
        doc.close()
    return out


def _printed(picture: Any) -> Any:
    """The page cut to what is printed on it (and a small margin): a form rarely fills its page, and the picture is
    shown beside the fields, where every pixel of width counts."""
    from PIL import Image, ImageChops

    box = ImageChops.difference(picture, Image.new("RGB", picture.size, "white")).getbbox()
    if box is None:
        return picture
    m, (w, h) = PICTURE_MARGIN, picture.size
    return picture.crop((max(0, box[0] - m), max(0, box[1] - m), min(w, box[2] + m), min(h, box[3] + m)))


# ---- the use cases ----------------------------------------------------------------------------------------------


def _staff(actor: Actor) -> None:
    if not actor.is_staff:
        raise IntakeError("STATE_FORBIDDEN", action="设计表单")


def _layer_form(form: Form, layer: Path | None) -> bool:
    """Whether ``form`` was published in the instance layer (a designer's form, which a new draft may replace)."""
    return layer is not None and form.template_path.is_relative_to(layer)


def check_target(cat: Catalog, campaign_id: str, form_id: str, layer: Path | None) -> list[Mistake]:
    """Whether a draft may be made for form ``form_id`` of ``campaign_id``: a campaign that exists, an id that is
    valid and not a form the designer did not publish."""
    campaign = cat.campaigns.get(campaign_id)
    if campaign is None:
        return [Mistake("campaign", message("DESIGN_CAMPAIGN", written=campaign_id))]
    if not FORM_ID.fullmatch(form_id or "") or CELL_LIKE.fullmatch(form_id):
        return [Mistake("form_id", message("DESIGN_FORM_ID", "pattern", written=form_id))]
    form = campaign.forms.get(form_id)
    if form is not None and not _layer_form(form, layer):
        return [Mistake("form_id", message("DESIGN_FORM_ID", "taken", campaign=campaign.title, written=form_id,
                                           title=form.title))]
    return []


def _sniffed(data: bytes, name: str) -> Any:
    opened = sniff_open(data, name, DEFAULT_LIMITS)
    opened.close()
    return opened.sniffed


def vetted(data: bytes, name: str, converter: Any = None) -> tuple[bytes, str]:
    """The upload as a .docx or .xlsx and its name: checked as every returned file is (size, zip, XML, macros …,
    :func:`service.office.sniff.sniff_open`), a legacy .doc/.wps/.xls/.et converted by LibreOffice. Refused with
    the check's own message otherwise."""
    def refuse(reason: str) -> DesignRefused:
        refused = message("DESIGN_DOCUMENT", reason=reason)
        return DesignRefused(refused, [Mistake("document", refused)])

    try:
        sniffed = _sniffed(data, name)
        if sniffed.needs_conversion:
            target = "xlsx" if sniffed.ext in SPREADSHEET_EXTS else "docx"
            data = (converter or get_converter()).convert(data, sniffed.ext, target)
            name, sniffed = f"{Path(name).stem}.{target}", _sniffed(data, f"converted.{target}")
    except (InputRejected, ConversionError) as exc:
        raise refuse(exc.message) from None
    if sniffed.kind not in ("docx", "xlsx"):
        raise refuse(f"这是{SNIFFED_KINDS.get(sniffed.kind, sniffed.kind)}，请上传通知所附的 Word 或 Excel 表格"
                     "（.docx、.xlsx，或旧版 .doc、.xls）。")
    return data, f"{Path(name).stem}.{sniffed.kind}"


def create_from_document(store: Store, actor: Actor, data: bytes, filename: str, campaign_id: str, form_id: str,
                         *, layer: Path | None = None, cat: Catalog | None = None, converter: Any = None) -> int:
    """A new draft from an uploaded document: its proposed fields, pictures of its pages; the draft's id."""
    _staff(actor)
    cat = cat or catalog()
    mistakes = check_target(cat, campaign_id, form_id, layer)
    if not data:
        mistakes.append(Mistake("document", message("DESIGN_DOCUMENT", "missing")))
    if mistakes:
        raise DesignRefused(mistakes[0].message, mistakes)
    data, name = vetted(data, Path(filename or "").name or "表格.docx", converter)
    try:
        schema, listed = scaffold(data, name)
    except ScaffoldError as exc:
        refused = message("DESIGN_DOCUMENT", reason=str(exc))
        raise DesignRefused(refused, [Mistake("document", refused)]) from None
    kind = Path(name).suffix.lower().lstrip(".")
    items = proposed_fields(schema, {p.path: p.where for p in listed})
    title = schema.get("title") or Path(name).stem
    pictures, note = [], ""
    try:
        pictures = page_pictures(data, kind, converter)
    except ConversionError as exc:
        note = message("DESIGN_PICTURE", reason=exc.message)
    except ValueError as exc:
        note = message("DESIGN_PICTURE", reason=str(exc))
    shas = [store.files.put(png) for png in pictures]
    sha = store.files.put(data)
    with store.session.begin() as s:
        for digest, size in [(sha, len(data)), *((d, len(p)) for d, p in zip(shas, pictures, strict=True))]:
            if s.get(StoredFile, digest) is None:
                s.add(StoredFile(sha256=digest, size=size))
                s.flush()
        draft = FormDraft(campaign_id=campaign_id, form_id=form_id, title=title[:MAX_TITLE], filename=name,
                          kind=kind, document_sha256=sha, fields=items, pages=shas, picture_note=note,
                          schema=build_schema(items, title, "1.0.0", name), created_by=actor.username,
                          updated_by=actor.username)
        s.add(draft)
        s.flush()
        audit(s, actor.username, "design_create", f"form-draft:{draft.id}", campaign=campaign_id, form=form_id,
              file=name, sha256=sha, fields=len(items))
        return draft.id


def _draft(s: Any, draft_id: int) -> FormDraft:
    draft = s.get(FormDraft, draft_id)
    if draft is None:
        raise IntakeError("DESIGN_NOT_FOUND", draft=draft_id)
    return draft


def get_draft(store: Store, draft_id: int) -> FormDraft:
    """One draft (detached from its session); IntakeError DESIGN_NOT_FOUND when there is none."""
    with store.session() as s:
        draft = _draft(s, draft_id)
        s.expunge(draft)
        return draft


def list_drafts(store: Store) -> list[FormDraft]:
    """Every draft, the latest change first."""
    with store.session() as s:
        drafts = list(s.scalars(select(FormDraft).order_by(FormDraft.updated_at.desc(), FormDraft.id.desc())))
        for d in drafts:
            s.expunge(d)
        return drafts


def update_fields(store: Store, actor: Actor, draft_id: int, items: list[dict[str, Any]], *, title: str,
                  annex: str = "", one_per: str = "recommender") -> FormDraft:
    """Save the edited fields and the form's settings; the schema is made again. Refused, nothing saved, with every
    mistake at its setting."""
    _staff(actor)
    items = clean_items(items)
    mistakes = check_fields(items, title)
    if one_per not in ONE_PER:
        mistakes.append(Mistake("one_per", message("DESIGN_KIND", where="每份对应", written=one_per,
                                                   known="、".join(ONE_PER.values()))))
    if mistakes:
        raise DesignRefused(f"有 {len(mistakes)} 处需要修改，草稿没有保存。", mistakes)
    with store.session.begin() as s:
        draft = _draft(s, draft_id)
        schema = build_schema(items, title, draft.version or "1.0.0", draft.filename)
        changed = (schema != draft.schema or title.strip() != draft.title or annex.strip() != draft.annex
                   or one_per != draft.one_per)
        draft.fields, draft.schema, draft.title = items, schema, title.strip()
        draft.annex, draft.one_per = annex.strip()[:40], one_per
        draft.updated_by, draft.updated_at = actor.username, utcnow()
        if changed:
            draft.state, draft.preview = "draft", None
        audit(s, actor.username, "design_update", f"form-draft:{draft.id}", changed=changed, fields=len(items))
        s.flush()
        s.expunge(draft)
        return draft


# ---- the form in a copy of the instance layer -------------------------------------------------------------------


def _paths(draft: FormDraft) -> tuple[str, str]:
    """The schema's and the template's names in the layer: one folder per campaign, named after the form."""
    return (f"{draft.campaign_id}/{draft.form_id}.schema.json",
            f"{draft.kind}/{draft.campaign_id}/{draft.form_id}.{draft.kind}")


def _write(path: Path, content: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)


def _json(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


def _campaign_file(staged: Path, campaign_id: str, shipped: bool) -> tuple[Path, dict]:
    """The layer's file for ``campaign_id`` and its content: the file that defines or extends it, else a new one
    that adds forms to the shipped campaign."""
    folder = staged / "data" / "campaigns"
    for path in sorted(folder.glob("*.json")):
        with contextlib.suppress(ValueError, OSError):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and doc.get("id") == campaign_id:
                return path, doc
    if not shipped:
        raise IntakeError("DESIGN_CAMPAIGN", written=campaign_id)
    return folder / f"{campaign_id}.json", {"id": campaign_id, "forms": []}


def _stage(staged: Path, draft: FormDraft, document: bytes, shipped: bool) -> tuple[list[str], str]:
    """Write the draft's form into the layer copy ``staged``: the files written (relative, the campaign file last)
    and the version published."""
    schema_name, template_name = _paths(draft)
    campaign_path, doc = _campaign_file(staged, draft.campaign_id, shipped)
    forms = [f for f in doc.get("forms", []) if isinstance(f, dict)]
    before = next((f for f in forms if f.get("id") == draft.form_id), None)
    schema = dict(draft.schema)
    written: list[str] = []
    versions: list[dict] = []
    version = "1.0.0"
    if before is not None:
        old_schema_path = staged / "schemas" / str(before.get("schema"))
        old_template_path = staged / "templates" / str(before.get("template"))
        old = json.loads(old_schema_path.read_text(encoding="utf-8")) if old_schema_path.is_file() else {}
        old_version = str(old.get("x-version", "1.0.0"))
        versions = [v for v in before.get("versions", []) if isinstance(v, dict)]
        version = old_version
        if old and fingerprint(old) != fingerprint(schema):
            version = next_version(old_version)
            kept_schema = f"{draft.campaign_id}/versions/{draft.form_id}-{old_version}.schema.json"
            kept_template = (f"{old_template_path.suffix.lstrip('.')}/{draft.campaign_id}/versions/"
                             f"{draft.form_id}-{old_version}{old_template_path.suffix}")
            _write(staged / "schemas" / kept_schema, old_schema_path.read_bytes())
            _write(staged / "templates" / kept_template, old_template_path.read_bytes())
            written += [f"schemas/{kept_schema}", f"templates/{kept_template}"]
            versions = [v for v in versions if v.get("version") != old_version] + [
                {"version": old_version, "fingerprint": fingerprint(old), "schema": kept_schema,
                 "template": kept_template}]
    schema["x-version"] = version
    if not any(v.get("version") == version for v in versions):
        versions.append({"version": version, "fingerprint": fingerprint(schema)})
    entry: dict[str, Any] = {"id": draft.form_id, "title": draft.title, "schema": schema_name,
                             "template": template_name, "one_per": draft.one_per, "versions": versions}
    if draft.annex:
        entry["annex"] = draft.annex
    doc["forms"] = [entry if f is before else f for f in forms] if before is not None else [*forms, entry]
    _write(staged / "schemas" / schema_name, _json(schema))
    _write(staged / "templates" / template_name, document)
    _write(campaign_path, _json(doc))
    written += [f"schemas/{schema_name}", f"templates/{template_name}",
                campaign_path.relative_to(staged).as_posix()]
    return written, version


@contextlib.contextmanager
def _staged_layer(layer: Path) -> Iterator[Path]:
    """A copy of the instance layer beside it (same file system: its files can be moved into place), removed after."""
    layer.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(dir=layer.parent, prefix=f".{layer.name}-"))
    try:
        staged = folder / layer.name
        if layer.is_dir():
            shutil.copytree(layer, staged, ignore=shutil.ignore_patterns(".*"))
        else:
            staged.mkdir()
        yield staged
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def publication_lock(layer: Path, *, create: bool = True) -> Iterator[None]:
    """One publication at a time in this installation (a lock file beside the layer, across processes); the backup
    takes it too, so that it copies a publication's files all or none. ``create=False``: where the layer's folder
    does not exist, nothing was or is being published, and nothing is made."""
    if not create and not layer.parent.is_dir():
        yield
        return
    layer.parent.mkdir(parents=True, exist_ok=True)
    with open(layer.parent / f".{layer.name}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _need_layer(layer: Path | None) -> Path:
    if layer is None:
        raise IntakeError("DESIGN_UNAVAILABLE")
    return layer


def _shipped_ids(root: Path) -> set[str]:
    """The ids of the shipped campaigns (read from their files: the layer may add forms to these)."""
    ids = set()
    for path in (root / "data" / "campaigns").glob("*.json"):
        with contextlib.suppress(ValueError, OSError):
            doc = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(doc, dict) and isinstance(doc.get("id"), str):
                ids.add(doc["id"])
    return ids


def _trial(store: Store, draft: FormDraft, staged: Path, root: Path, code: str) -> tuple[Catalog, str]:
    """Stage the draft and load the catalogue from the staged layer; the catalogue and the version. DataError's
    messages refuse it (``code``: DESIGN_PREVIEW or DESIGN_PUBLISH)."""
    shipped = draft.campaign_id in _shipped_ids(root)
    _written, version = _stage(staged, draft, store.files.get(draft.document_sha256), shipped)
    try:
        return load_catalog(root, layer=staged), version
    except DataError as exc:
        mistakes = [Mistake("", m) for m in exc.problems]
        raise DesignRefused(message(code, "data", count=len(mistakes)), mistakes) from None


def preview(store: Store, actor: Actor, draft_id: int, *, layer: Path | None, root: Path = ROOT) -> Preview:
    """Try the draft as it would be published: a copy rendered with sample values (kept in the file store), read
    back by the parser, and ``forms check``. Nothing is published."""
    _staff(actor)
    layer = _need_layer(layer)
    draft = get_draft(store, draft_id)
    with _staged_layer(layer) as staged:
        cat, _version = _trial(store, draft, staged, root, "DESIGN_PREVIEW")
        form = cat.form(draft.campaign_id, draft.form_id)
        verdict = inspect_form(form)
        sample = sample_record(form)
        try:
            done = render(draft.campaign_id, draft.form_id, sample, cat=cat)
        except TemplateError as exc:
            refused = message("DESIGN_PREVIEW", reason=str(exc))
            raise DesignRefused(refused, [Mistake("", refused)]) from None
        result = parse(done.content, done.filename, campaign=draft.campaign_id, cat=cat,
                       received_at=BEFORE_ANY_DEADLINE)
    found = Preview(store.files.put(done.content), done.filename, fields=read_back(form, sample, result.record),
                    check=[{"path": p, "title": t, "how": how} for p, t, how in verdict.fields],
                    problems=list(dict.fromkeys(verdict.problems)), notes=list(dict.fromkeys(verdict.notes)))
    found.found = sum(1 for f in found.fields if f["status"] == "same")
    found.notes += [p.message for p in result.problems if p.code not in ("FORM_INFERRED",)]
    with store.session.begin() as s:
        if s.get(StoredFile, found.sha256) is None:
            s.add(StoredFile(sha256=found.sha256, size=len(done.content)))
        row = _draft(s, draft_id)
        row.preview = found.to_dict()
        audit(s, actor.username, "design_preview", f"form-draft:{draft_id}", sha256=found.sha256,
              found=found.found, total=len(found.fields))
    return found


def publish(store: Store, actor: Actor, draft_id: int, *, layer: Path | None, root: Path = ROOT) -> str:
    """Publish the draft into the instance layer: its schema, its document as the template, its entry in the
    campaign; the version published. Refused, nothing written, when the data would not load or the template fails
    ``forms check``."""
    _staff(actor)
    layer = _need_layer(layer)
    draft = get_draft(store, draft_id)
    with publication_lock(layer), _staged_layer(layer) as staged:
        cat, version = _trial(store, draft, staged, root, "DESIGN_PUBLISH")
        verdict = inspect_form(cat.form(draft.campaign_id, draft.form_id))
        if verdict.problems:
            mistakes = [Mistake("", p) for p in dict.fromkeys(verdict.problems)]
            raise DesignRefused(message("DESIGN_PUBLISH", "check", count=len(mistakes)), mistakes)
        written = [p.relative_to(staged).as_posix() for p in sorted(staged.rglob("*")) if p.is_file()]
        written = [p for p in written if _differs(staged / p, layer / p)]
        # Schemas and templates first, campaign files last: a process reading the layer meanwhile finds every
        # file a campaign names.
        for rel in sorted(written, key=lambda p: p.startswith("data/")):
            (layer / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged / rel, layer / rel)
    catalog.cache_clear()
    with store.session.begin() as s:
        row = _draft(s, draft_id)
        row.state, row.version = "published", version
        row.schema = {**row.schema, "x-version": version}
        row.published_by, row.published_at = actor.username, utcnow()
        audit(s, actor.username, "design_publish", f"form-draft:{draft_id}", campaign=draft.campaign_id,
              form=draft.form_id, version=version, files=written)
    return version


def _differs(new: Path, old: Path) -> bool:
    try:
        return new.read_bytes() != old.read_bytes()
    except OSError:
        return True

