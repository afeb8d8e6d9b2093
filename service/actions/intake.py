"""Receive one returned file: keep it, parse it, file it as a submission, and re-check what it affects.

Order matters and is the contract: the bytes are stored (content-addressed) and the upload recorded *before*
anything parses them; the same bytes from the same recommender for the same campaign are one submission (an
idempotent answer, never a second count); a new version of the same form for the same group supersedes the
current one and keeps it in the history. After each change the rules that span submissions run again for the
recommender (quota, 汇总表 ↔ 推荐书) and for the campaign (a group recommended by two recommenders).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, cast, false, func, or_, select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.actions.decisions import DOCUMENT_DECISION, carry_decisions
from service.actions.filenames import clean_name
from service.actions.scan_check import Pictures, compare, electronic, scanned, stamped_kind
from service.forms.catalog import Catalog, catalog
from service.forms.names import normalize_name
from service.office.sniff import OLE, PDF, RTF, ZIP, media_type
from service.parse.pipeline import parse
from service.problems.catalogue import entry, message
from service.problems.report import ERROR, REVIEW, ParseResult, Problem, problem
from service.store import Store
from service.store.audit import audit
from service.store.lifecycle import COUNTED
from service.store.models import Attachment, StoredFile, Submission, Upload, utcnow
from service.validate.rules import batch_rules
from service.validate.rules.reference import name_index

LATE = "late"
# Pictures an attachment may be (scans and photos of signed pages); not HEIF, which few browsers show to reviewers.
ATTACHMENT_IMAGES = frozenset({"image/png", "image/jpeg", "image/gif", "image/tiff", "image/bmp", "image/webp"})
MEDIA_LABELS = {"pdf": "PDF", "image": "图片", "word": "Word 文档", "excel": "Excel 表格"}


class IntakeError(Exception):
    """A request the platform refuses before storing anything (unknown campaign, attachment of a wrong type),
    worded, with its HTTP status, by the catalogue entry of ``code``."""

    def __init__(self, code: str, variant: str | None = None, /, **fields: Any) -> None:
        spec = entry(code)
        self.code, self.message, self.http_status = code, spec.text(variant, **fields), spec.http_status
        super().__init__(code, self.message)

    def __reduce__(self) -> tuple[Any, ...]:
        return _refused, (self.code, self.message, self.http_status)


def _refused(code: str, message: str, http_status: int) -> IntakeError:
    """An IntakeError rebuilt as it was (after pickling), not worded again."""
    error = IntakeError.__new__(IntakeError)
    Exception.__init__(error, code, message)
    error.code, error.message, error.http_status = code, message, http_status
    return error


@dataclass
class Received:
    """What happened to one file."""

    name: str
    sha256: str
    upload_id: int
    submission_id: int | None
    outcome: str  # new | duplicate | superseded (a new version replaced an older one) | attached (a stamped scan
    # of the current electronic submission, kept as its 盖章扫描件 and checked against it)
    status: str  # accepted | needs_review | rejected | late | unreadable
    code: str = ""
    message: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "upload_id": self.upload_id,
                "submission_id": self.submission_id, "outcome": self.outcome, "status": self.status,
                "code": self.code, "message": self.message, **self.extra}


def media_of(data: bytes, filename: str) -> str | None:
    """pdf | image | word | excel from the content (the name only separates Word from Excel in OLE/zip)."""
    media = media_type(data)
    if media == PDF:
        return "pdf"
    if media in ATTACHMENT_IMAGES:
        return "image"
    if media == RTF:
        return "word"
    if media in (OLE, ZIP):
        lower = filename.lower()
        if lower.endswith((".xls", ".xlsx", ".et", ".ods")):
            return "excel"
        if lower.endswith((".doc", ".docx", ".wps", ".odt", ".rtf")):
            return "word"
    return None


def check_attachment(campaign_id: str, form_id: str | None, kind: str, data: bytes, filename: str,
                     cat: Catalog | None = None, max_bytes: int = 50 * 1024 * 1024) -> str:
    """The attachment's media type, or IntakeError saying which kinds the campaign accepts."""
    cat = cat or catalog()
    spec = next((a for a in cat.campaign(campaign_id).data.get("attachments", []) if a["id"] == kind), None)
    if spec is None:
        kinds = "、".join(a["id"] for a in cat.campaign(campaign_id).data.get("attachments", [])) or "无"
        raise IntakeError("ATTACHMENT_KIND", kind=kind, kinds=kinds)
    if form_id and form_id not in spec.get("for_forms", [form_id]):
        raise IntakeError("ATTACHMENT_KIND", "other_form", attachment=spec["title"],
                          form=cat.form(campaign_id, form_id).title)
    if not data:
        raise IntakeError("ATTACHMENT_EMPTY", filename=filename)
    if len(data) > max_bytes:
        raise IntakeError("ATTACHMENT_TOO_LARGE", filename=filename, limit=max_bytes // (1024 * 1024))
    media = media_of(data, filename)
    allowed = spec.get("types", [])
    if media is None or (allowed and media not in allowed):
        names = "、".join(MEDIA_LABELS.get(t, t) for t in allowed)
        raise IntakeError("ATTACHMENT_TYPE", filename=filename, attachment=spec["title"], types=names)
    return media


def _entity_key(result: ParseResult, cat: Catalog, recommender_id: str, sha256: str) -> str:
    """What a submission is "of": the group for 推荐书/工作总结, the recommender for 汇总表."""
    if not result.readable or not result.form:
        return "file:" + sha256
    form = cat.form(result.campaign, result.form)
    if form.settings.get("one_per") == "recommender":
        return "recommender:" + recommender_id
    name = result.record.get("group_name")
    if name:
        return "group:" + normalize_name(str(name))
    return "entity:" + result.entity if result.entity else "file:" + sha256


def _submitter_problem(result: ParseResult, cat: Catalog, recommender_id: str) -> Problem | None:
    """A recommender may only submit its own forms (the record names who it is for)."""
    if not result.readable or not result.form:
        return None
    campaign = cat.campaign(result.campaign)
    source = campaign.data.get("submitters")
    rules = campaign.data.get("rules", {})
    spec = rules.get("recommender")
    if spec and result.form in spec.get("forms", []):
        name = result.record.get(spec["name_field"])
        row = name_index(cat, source).match(str(name)).exact if name else None
        if row is not None and row.get("id") != recommender_id:
            return problem("SUBMITTER_MISMATCH", path=spec["name_field"], name=name)
    for path in rules.get("eligible_group_fields", {}).get(result.form, []):
        name = result.record.get(path)
        row = name_index(cat, source).match(str(name)).exact if name else None
        if row is not None and row.get("id") != recommender_id:
            return problem("SUBMITTER_MISMATCH", variant="group", path=path, name=name)
    return None


def acknowledged(report: dict[str, Any]) -> set[str]:
    """Codes of document-level review items (no field path) that a reviewer has accepted."""
    return {d[len(DOCUMENT_DECISION):] for d in report.get("decisions", []) if d.startswith(DOCUMENT_DECISION)}


def first_reason(report: dict[str, Any], cross: list[dict[str, Any]],
                 attachment_problems: list[dict[str, Any]]) -> tuple[str, str]:
    """The code and message that explain a status in one line: the first error, else the first review item
    (a file rejected for the quota, or waiting for a missing attachment, says so)."""
    problems = [*report.get("errors", []), *cross, *attachment_problems, *report.get("warnings", [])]
    for severity in (ERROR, REVIEW):
        for p in problems:
            if p["severity"] == severity:
                return p["code"], p["message"]
    return "", ""


def document_level(item: dict[str, Any]) -> bool:
    """A review item about the document or a rule (late, near a first-batch name …), not a value to decide."""
    return item["severity"] == REVIEW and not item["code"].startswith("FIELD_")


def document_level_done(item: dict[str, Any], accepted: set[str]) -> bool:
    return document_level(item) and item["code"] in accepted


def status_of(report: dict[str, Any], cross: list[dict[str, Any]], attachment_problems: list[dict[str, Any]],
              state: str = "") -> str:
    """The one status shown: a state a person set (退回修改, 撤回 …) holds; otherwise the problems decide. A file
    refused for who sent it is an upload (misdirected), not a submission of that unit."""
    if state:
        return state
    problems = [*report.get("errors", []), *report.get("warnings", []), *cross, *attachment_problems]
    if not report.get("readable", True):
        return "unreadable"
    if any(p["code"] == "SUBMITTER_MISMATCH" for p in report.get("errors", [])):
        return "misdirected"
    if any(p["severity"] == ERROR for p in problems):
        return "rejected"
    accepted = acknowledged(report)
    review = [p for p in problems if p["severity"] == REVIEW and not document_level_done(p, accepted)]
    if review and all(p["code"] == "SUBMISSION_LATE" for p in review):
        return LATE
    return "needs_review" if review else "accepted"


def attachment_problems(sub: Submission, cat: Catalog) -> list[dict[str, Any]]:
    """Required attachments that are missing (a 工作总结 without 政策文件)."""
    return missing_attachments(sub.campaign_id, sub.form_id, {a.kind for a in sub.attachments}, cat)


def missing_attachments(campaign_id: str, form_id: str | None, kinds: set[str], cat: Catalog) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not form_id:
        return out
    for spec in cat.campaign(campaign_id).data.get("attachments", []):
        if spec.get("required") and form_id in spec.get("for_forms", []) and spec["id"] not in kinds:
            out.append(problem("ATTACHMENT_MISSING", attachment=spec["title"],
                               form=cat.form(campaign_id, form_id).title).to_dict())
    return out


def record_upload(s: Session, sha: str, size: int, filename: str, *, campaign_id: str, recommender_id: str,
                  uploader: str, channel: str, received: dt.datetime, file_row: bool = True) -> int:
    """The upload row (and the stored file's row, unless the caller made it) for bytes already in the file store."""
    if file_row and s.get(StoredFile, sha) is None:
        s.add(StoredFile(sha256=sha, size=size))
        s.flush()
    filename = clean_name(filename)
    upload = Upload(sha256=sha, original_name=filename, size=size, campaign_id=campaign_id,
                    recommender_id=recommender_id, uploader=uploader, channel=channel, received_at=received)
    s.add(upload)
    s.flush()
    audit(s, uploader, "upload", f"upload:{upload.id}", name=filename, sha256=sha, size=size, channel=channel)
    return upload.id


def _duplicate_of(s: Session, campaign_id: str, recommender_id: str, sha: str) -> Submission | None:
    return s.scalar(select(Submission).where(Submission.campaign_id == campaign_id,
                                             Submission.recommender_id == recommender_id, Submission.sha256 == sha))


def _duplicate(filename: str, sha: str, upload_id: int, existing: Submission) -> Received:
    return Received(filename, sha, upload_id, existing.id, "duplicate", existing.status,
                    message=f"与已提交的文件（第 {existing.id} 号，{existing.original_name}）内容完全相同，未重复计入。")


def file_submission(s: Session, store: Store, result: ParseResult, *, sha: str, upload_id: int, filename: str,
                    campaign_id: str, recommender_id: str, uploader: str, received: dt.datetime, cat: Catalog,
                    attachments: list[tuple[str, str, bytes, str]] = (), pictures: Pictures | None = None) -> Received:
    """File a parsed form as a submission inside the caller's transaction (superseding the current version).

    A scan of a form whose current submission for the same group is an electronic copy does not supersede it: it
    is attached to it as its stamped copy and checked against it. The other order too: an electronic copy after
    the scan supersedes it and takes the scan as its stamped copy (the caller then checks it). ``pictures`` are
    the cells read from pictures."""
    existing = _duplicate_of(s, campaign_id, recommender_id, sha)
    if existing is not None:
        return _duplicate(filename, sha, upload_id, existing)
    if pictures is not None:
        pictures.save(store, s)
    mismatch = _submitter_problem(result, cat, recommender_id)
    if mismatch is not None:
        result.add(mismatch)
    report = result.to_dict()
    # A file refused for who sent it, or unreadable, is an upload: it never replaces one of the unit's submissions.
    key = f"upload:{sha}" if mismatch is not None else _entity_key(result, cat, recommender_id, sha)
    current = None if key.startswith(("upload:", "file:")) else s.scalar(select(Submission).where(
        Submission.campaign_id == campaign_id, Submission.recommender_id == recommender_id,
        Submission.form_id == result.form, Submission.entity_key == key, Submission.is_current.is_(True)))
    kind = stamped_kind(cat, campaign_id, result.form) if current is not None and result.form else None
    if kind and scanned(report) and electronic(current.report):
        return _attach_stamped(s, store, current, result, kind, sha=sha, upload_id=upload_id, filename=filename,
                               uploader=uploader, cat=cat)
    sub = Submission(campaign_id=campaign_id, recommender_id=recommender_id, form_id=result.form,
                     entity_key=key, version=(current.version + 1) if current else 1, sha256=sha,
                     upload_id=upload_id, original_name=clean_name(filename), status="", readable=result.readable,
                     late=any(p.code == "SUBMISSION_LATE" for p in result.problems),
                     record=result.record, report=report, cross_problems=[], received_at=received)
    s.add(sub)
    s.flush()
    for attachment_kind, name, blob, media in attachments:
        asha = store.files.put(blob)
        if s.get(StoredFile, asha) is None:
            s.add(StoredFile(sha256=asha, size=len(blob)))
            s.flush()
        sub.attachments.append(Attachment(kind=attachment_kind, sha256=asha, original_name=clean_name(name),
                                          media=media))
    if current is not None and kind and electronic(report) and scanned(current.report) and current.readable:
        # The stamped scan came first: it becomes the stamped copy of the electronic one that follows it.
        sub.attachments.append(Attachment(kind=kind, sha256=current.sha256, original_name=current.original_name,
                                          media=media_of(store.files.get(current.sha256), current.original_name)
                                          or "pdf"))
        audit(s, uploader, "attach", f"submission:{sub.id}", kind=kind, name=current.original_name,
              sha256=current.sha256, carried_from=current.id)
    if current is not None:
        current.is_current = False
        current.superseded_by = sub.id
        audit(s, uploader, "supersede", f"submission:{current.id}", by=sub.id)
        carry_decisions(s, current, sub, cat)
        report = sub.report
    sub.status = status_of(report, [], attachment_problems(sub, cat))
    audit(s, uploader, "submit", f"submission:{sub.id}", status=sub.status, form=result.form, version=sub.version)
    code, message = first_reason(report, [], attachment_problems(sub, cat))
    return Received(filename, sha, upload_id, sub.id, "superseded" if current is not None else "new", sub.status,
                    code=code, message=message)


def receive(
    store: Store,
    data: bytes,
    filename: str,
    *,
    campaign_id: str,
    recommender_id: str,
    uploader: str,
    channel: str = "api",
    received_at: dt.datetime | None = None,
    attachments: list[tuple[str, str, bytes]] = (),
    cat: Catalog | None = None,
    parsed: ParseResult | None = None,
    refresh: bool = True,
) -> Received:
    """Store, parse and file one returned form (with attachments given as (kind, filename, bytes))."""
    cat = cat or catalog()
    filename = clean_name(filename)
    attachments = [(kind, clean_name(name), blob) for kind, name, blob in attachments]
    if campaign_id not in cat.campaigns:
        raise IntakeError("CAMPAIGN_NOT_FOUND", campaign=campaign_id, campaigns="、".join(cat.campaigns))
    received = received_at or utcnow()
    checked = [(kind, name, blob, check_attachment(campaign_id, None, kind, blob, name, cat))
               for kind, name, blob in attachments]
    sha = store.files.put(data)
    with store.session.begin() as s:  # kept and recorded before anything parses it
        upload_id = record_upload(s, sha, len(data), filename, campaign_id=campaign_id, recommender_id=recommender_id,
                                  uploader=uploader, channel=channel, received=received)
        existing = _duplicate_of(s, campaign_id, recommender_id, sha)
        if existing is not None:
            return _duplicate(filename, sha, upload_id, existing)
    pictures = Pictures()
    result = parsed or parse(data, filename, campaign=campaign_id, received_at=received, cat=cat,
                             submitter=recommender_id, keep_picture=pictures)
    try:
        with store.session.begin() as s:
            got = file_submission(s, store, result, sha=sha, upload_id=upload_id, filename=filename,
                                  campaign_id=campaign_id, recommender_id=recommender_id, uploader=uploader,
                                  received=received, cat=cat, attachments=checked, pictures=pictures)
    except IntegrityError:
        # The same bytes arrived twice at the same moment: the other request filed them.
        with store.session() as s:
            other = _duplicate_of(s, campaign_id, recommender_id, sha)
            return Received(filename, sha, upload_id, other.id if other else None, "duplicate",
                            other.status if other else "unreadable")
    if got.outcome in ("new", "superseded") and got.submission_id is not None:
        got.status = check_stamped_copy(store, got.submission_id, uploader, cat) or got.status
    if refresh and got.outcome != "duplicate":
        refresh_related(store, campaign_id, recommender_id, cat)
        with store.session() as s:
            sub = s.get(Submission, got.submission_id)
            got.status = sub.status
            got.code, got.message = first_reason(sub.report, sub.cross_problems, attachment_problems(sub, cat))
    return got


def _key(problems: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(p["code"], p.get("path", ""), p["message"]) for p in problems]


def _located(problems: list[dict[str, Any]], report: dict[str, Any]) -> list[dict[str, Any]]:
    """Problems with the place of their field in the submission's document (from its parse report)."""
    places = {f["path"]: f.get("where") for f in report.get("fields", []) if f.get("where")}
    return [{**p, "where": places[p["path"]]} if p.get("path") in places and "where" not in p else p
            for p in problems]


def _slim(record: dict[str, Any]) -> dict[str, Any]:
    """What the rules across submissions compare: short values and the ranked list, not the narratives."""
    return {k: v for k, v in record.items()
            if not (isinstance(v, str) and len(v) > 300) and not (k == "members" and isinstance(v, list))}


_ROW = (Submission.id, Submission.form_id, Submission.original_name, Submission.entity_key, Submission.recommender_id,
        Submission.cross_problems, Submission.status, Submission.state)


def refresh_related(store: Store, campaign_id: str, recommender_id: str, cat: Catalog | None = None) -> None:
    """Run the rules that span submissions again and update the statuses they change.

    Rows are read as plain columns (records slimmed to what the rules compare); a submission's report is read and
    its row written only when its problems across submissions really changed. One more upload therefore costs
    little however many came before, and a bulk ingest of thousands keeps its memory bounded.
    """
    cat = cat or catalog()
    with store.session.begin() as s:
        current = (Submission.campaign_id == campaign_id, Submission.is_current.is_(True))
        mine = s.execute(select(*_ROW, Submission.record).where(
            *current, Submission.recommender_id == recommender_id, Submission.readable.is_(True),
            Submission.status.in_(sorted(COUNTED)))).all()
        results = [ParseResult(file=row.original_name, campaign=campaign_id, form=row.form_id, record=_slim(row.record))
                   for row in mine]
        batch_rules(results, cat)
        wanted = {row.id: [p.to_dict() for p in r.problems] for row, r in zip(mine, results, strict=True)}
        touched = {row.id: row for row in mine}
        del mine, results
        # Campaign-wide: a group recommended by more than one recommender, and flags that may no longer hold. A
        # rejected or unreadable file is not a recommendation: it never disturbs another unit's submission.
        shared = select(Submission.form_id, Submission.entity_key).where(
            *current, *_COUNTED, Submission.entity_key.like("group:%")).group_by(Submission.form_id, Submission.entity_key).having(
            func.count(func.distinct(Submission.recommender_id)) > 1)
        multi = {(f, k) for f, k in s.execute(shared)}
        flagged = cast(Submission.cross_problems, String).like("%GROUP_MULTIPLE_RECOMMENDERS%")
        for row in s.execute(select(*_ROW).where(*current, or_(
                flagged, tuple_(Submission.form_id, Submission.entity_key).in_(list(multi)) if multi else false()))):
            touched.setdefault(row.id, row)
        for sub_id, row in touched.items():
            problems = wanted.get(sub_id)
            if problems is None:
                problems = [p for p in row.cross_problems if p["code"] != "GROUP_MULTIPLE_RECOMMENDERS"]
            # The unit is told that the group is shared, not with whom: that is for the staff (other_recommenders).
            if (row.form_id, row.entity_key) in multi and row.status in _RECOMMENDS:
                problems.append(problem("GROUP_MULTIPLE_RECOMMENDERS").to_dict())
            if _key(problems) == _key(row.cross_problems):
                continue
            report = s.scalar(select(Submission.report).where(Submission.id == sub_id))
            kinds = set(s.scalars(select(Attachment.kind).where(Attachment.submission_id == sub_id)))
            located = _located(problems, report)
            status = status_of(report, located, missing_attachments(campaign_id, row.form_id, kinds, cat), row.state)
            s.execute(update(Submission).where(Submission.id == sub_id).values(cross_problems=located, status=status))
            if status != row.status:
                audit(s, "system", "status", f"submission:{sub_id}", before=row.status, after=status)


# A recommendation another unit's can clash with: a counted submission that was not refused.
_RECOMMENDS = sorted(COUNTED - {"rejected"})
_COUNTED = (Submission.readable.is_(True), Submission.status.in_(_RECOMMENDS))


def staff_message(store: Store, sub: Submission, item: dict[str, Any], cat: Catalog | None = None) -> str:
    """A problem as the staff read it: a shared group names the other recommenders (the unit is not told)."""
    if item.get("code") == "GROUP_MULTIPLE_RECOMMENDERS":
        others = other_recommenders(store, sub, cat)
        if others:
            return message("GROUP_MULTIPLE_RECOMMENDERS", "staff", other=others)
    return item["message"]


def other_recommenders(store: Store, sub: Submission, cat: Catalog | None = None) -> str:
    """For the staff: the other units whose current, counted submissions recommend the same group ("" if none)."""
    cat = cat or catalog()
    with store.session() as s:
        others = set(s.scalars(select(Submission.recommender_id).where(
            Submission.campaign_id == sub.campaign_id, Submission.is_current.is_(True), *_COUNTED,
            Submission.form_id == sub.form_id, Submission.entity_key == sub.entity_key,
            Submission.recommender_id != sub.recommender_id)))
    return "、".join(_entity_name(cat, sub.campaign_id, other) for other in sorted(others))


def effective_status(sub: Submission, cat: Catalog) -> str:
    return status_of(sub.report, sub.cross_problems, attachment_problems(sub, cat), sub.state)


def _entity_name(cat: Catalog, campaign_id: str, entity_id: str) -> str:
    source = cat.campaign(campaign_id).data.get("submitters", "")
    try:
        return cat.entity(source, entity_id)["name"]
    except LookupError:
        return entity_id


def add_attachment(store: Store, submission_id: int, kind: str, filename: str, data: bytes, uploader: str,
                   cat: Catalog | None = None) -> Attachment:
    """Attach a file to a submission; a stamped copy (盖章扫描件) of an electronic one is read and checked against it."""
    cat = cat or catalog()
    filename = clean_name(filename)
    with store.session.begin() as s:
        sub = s.get(Submission, submission_id)
        if sub is None:
            raise IntakeError("SUBMISSION_NOT_FOUND", submission=submission_id)
        media = check_attachment(sub.campaign_id, sub.form_id, kind, data, filename, cat)
        sha = store.files.put(data)
        if s.get(StoredFile, sha) is None:
            s.add(StoredFile(sha256=sha, size=len(data)))
            s.flush()
        att = Attachment(kind=kind, sha256=sha, original_name=filename, media=media)
        sub.attachments.append(att)
        s.flush()
        sub.status = effective_status(sub, cat)
        audit(s, uploader, "attach", f"submission:{sub.id}", kind=kind, name=filename, sha256=sha)
        stamped = kind == stamped_kind(cat, sub.campaign_id, sub.form_id)
    if stamped:
        check_stamped_copy(store, submission_id, uploader, cat, att.id)
    return att


def check_stamped_copy(store: Store, submission_id: int, uploader: str, cat: Catalog | None = None,
                       attachment_id: int | None = None) -> str | None:
    """Read the submission's stamped copy (the attachment given, else its latest 盖章扫描件) and check it against
    the electronic record (:mod:`service.actions.scan_check`); the status it leaves, None when there was nothing
    to check (no stamped copy, or the submission is no electronic form). Parsed outside any transaction."""
    cat = cat or catalog()
    with store.session() as s:
        sub = s.get(Submission, submission_id)
        kind = stamped_kind(cat, sub.campaign_id, sub.form_id) if sub is not None and sub.form_id else None
        if kind is None or not electronic(sub.report):
            return None
        atts = [a for a in sub.attachments if a.kind == kind and a.media in ("pdf", "image")
                and attachment_id in (None, a.id)]
        if not atts:
            return None
        att = atts[-1]
        att_id, name, sha = att.id, att.original_name, att.sha256
        campaign_id, recommender_id, received = sub.campaign_id, sub.recommender_id, sub.received_at
    if received is not None and received.tzinfo is None:  # SQLite keeps no offset; the store writes UTC
        received = received.replace(tzinfo=dt.UTC)
    pictures = Pictures()
    scan = parse(store.files.get(sha), name, campaign=campaign_id, received_at=received, cat=cat,
                 submitter=recommender_id, keep_picture=pictures)
    with store.session.begin() as s:
        sub = s.get(Submission, submission_id)
        pictures.save(store, s)
        return _apply_check(s, sub, scan, name=name, sha=sha, attachment_id=att_id, uploader=uploader, cat=cat)


def _apply_check(s: Session, sub: Submission, scan: ParseResult, *, name: str, sha: str, attachment_id: int,
                 uploader: str, cat: Catalog) -> str:
    """The check's items into the electronic submission's report, its status again, one audit entry."""
    sub.report = compare(sub.report, scan, file=name, attachment_id=attachment_id, sha256=sha)
    before, sub.status = sub.status, effective_status(sub, cat)
    check = sub.report["metrics"]["scan_check"]
    audit(s, uploader, "scan_check", f"submission:{sub.id}", attachment=attachment_id, sha256=sha,
          compared=check["compared"], differs=sorted(check["fields"]),
          unsealed=sum(1 for p in check["seals"] if p.get("ocr") and not p.get("sealed")),
          unchecked=check.get("unchecked", ""), before=before, after=sub.status)
    return sub.status


def _attach_stamped(s: Session, store: Store, current: Submission, scan: ParseResult, kind: str, *, sha: str,
                    upload_id: int, filename: str, uploader: str, cat: Catalog) -> Received:
    """A scan of the form the unit already sent electronically: kept as that submission's stamped copy (the
    electronic one stays current) and checked against it."""
    if any(a.sha256 == sha for a in current.attachments):
        return Received(filename, sha, upload_id, current.id, "duplicate", current.status,
                        message=f"与第 {current.id} 号提交已有的盖章扫描件内容完全相同，未重复计入。")
    media = media_of(store.files.get(sha), filename) or "pdf"
    att = Attachment(kind=kind, sha256=sha, original_name=clean_name(filename), media=media)
    current.attachments.append(att)
    s.flush()
    audit(s, uploader, "attach", f"submission:{current.id}", kind=kind, name=att.original_name, sha256=sha,
          upload=upload_id)
    status = _apply_check(s, current, scan, name=att.original_name, sha=sha, attachment_id=att.id,
                          uploader=uploader, cat=cat)
    code, message_ = first_reason(current.report, current.cross_problems, attachment_problems(current, cat))
    return Received(filename, sha, upload_id, current.id, "attached", status, code=code, message=message_,
                    extra={"attachment_id": att.id})
