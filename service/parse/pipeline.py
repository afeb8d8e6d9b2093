"""Read a returned file back into a validated record: the one entry point of the core for parsing.

bytes + file name → :class:`ParseResult`. The steps are the data flow of the architecture: vet the bytes
(:mod:`safety`), convert legacy formats through the long-lived LibreOffice (:mod:`convert`), identify the
form by its stamp or else by its structure, extract every field (:mod:`extract`), normalize it
(:mod:`normalize`), validate against the schema and the campaign's rules (:mod:`rules`). Nothing here
imports Flask: the CLI, the web app and background jobs call the same function.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.forms.catalog import Catalog, Form, catalog
from service.forms.fields import Field
from service.forms.layout import Layout, core_key, label_key, layout
from service.forms.stamp import Stamp
from service.office.convert.client import get_converter
from service.office.convert.protocol import ConversionError
from service.office.docx import DocxDocument, Paragraph, read_docx
from service.office.limits import DEFAULT_LIMITS, Limits
from service.office.rejected import InputRejected
from service.office.sniff import open_package, sniff
from service.office.xlsx import XlsxDocument, read_xlsx
from service.parse.extract import NOT_FOUND, Extracted, Found, Where, extract_docx, extract_xlsx
from service.parse.normalize import normalize
from service.problems.report import ERROR, REVIEW, FieldReport, ParseResult, Problem, problem, reported
from service.validate.rules import document_rules
from service.validate.schema import check_record

SPREADSHEET_EXTS = {".xls", ".et", ".ods", ".xltx", ".xlsx", ".ett", ".xlt"}
MIN_STRUCTURE_SCORE = 0.6


def parse(
    data: bytes,
    filename: str,
    *,
    campaign: str | None = None,
    received_at: dt.datetime | None = None,
    cat: Catalog | None = None,
    converter: Any = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ParseResult:
    """Parse one returned file. ``campaign`` is the campaign it was sent to (None: any)."""
    cat = cat or catalog()
    received = received_at or dt.datetime.now(dt.UTC)
    result = ParseResult(file=filename, received_at=received.isoformat(timespec="seconds"))
    try:
        doc, result.format, result.converted = _open(data, filename, converter, limits)
    except (InputRejected, ConversionError) as exc:
        return _unreadable(result, reported(exc.code, exc.message))

    form, identified_by, found = identify(doc, cat, campaign)
    if form is None:
        return _unreadable(result, found)
    result.campaign, result.form, result.form_title = form.campaign_id, form.id, form.title
    result.identified_by = identified_by
    stamp = Stamp.from_properties(doc.custom) if identified_by == "stamp" else None
    result.schema_version = stamp.schema_version if stamp else form.version
    result.entity, result.issuance = (stamp.entity, stamp.issuance) if stamp else ("", "")
    if found is not None:
        result.add(found)
        if found.severity == ERROR:
            return result
    if stamp and stamp.schema_version.split(".")[0] != form.version.split(".")[0]:
        result.add(problem("FORM_VERSION", used=stamp.schema_version, current=form.version))

    lay = layout(form)
    extracted = extract_docx(doc, lay) if isinstance(doc, DocxDocument) else extract_xlsx(doc, lay)
    for sheet_problem in extracted.problems:
        result.add(sheet_problem)
    _build_record(result, form, lay, extracted)
    _validate(result, form, lay)
    document_rules(result, form, cat, received)
    return result


IDENTITY_CODES = {"FORM_INFERRED", "FORM_STAMP_MISMATCH", "FORM_VERSION", "SHEET_EXTRA", "SHEET_CONFLICT"}


def revalidate(result: ParseResult, cat: Catalog | None = None, decided: set[str] = frozenset(),
               received_at: dt.datetime | None = None) -> ParseResult:
    """Check ``result.record`` again (after a reviewer accepted or corrected values at ``decided`` paths).

    Field flags of undecided paths and identification notes stay; schema and campaign rules run afresh.
    """
    cat = cat or catalog()
    if not result.readable or not result.form:
        return result
    form = cat.form(result.campaign, result.form)
    result.problems = [p for p in result.problems if p.code in IDENTITY_CODES or (
        p.severity == REVIEW and p.path and p.code.startswith("FIELD_") and p.path not in decided)]
    received = received_at or (dt.datetime.fromisoformat(result.received_at) if result.received_at
                               else dt.datetime.now(dt.UTC))
    _validate(result, form, layout(form))
    document_rules(result, form, cat, received)
    return result


def _unreadable(result: ParseResult, why: Problem) -> ParseResult:
    result.readable = False
    result.add(why)
    return result


def _open(data: bytes, filename: str, converter: Any, limits: Limits) -> tuple[DocxDocument | XlsxDocument, str, bool]:
    sniffed = sniff(data, filename, limits)
    fmt = sniffed.ext.lstrip(".")
    converted = False
    if sniffed.needs_conversion:
        target = "xlsx" if sniffed.ext in SPREADSHEET_EXTS else "docx"
        data = (converter or get_converter()).convert(data, sniffed.ext, target)
        sniffed = sniff(data, "converted." + target, limits)
        converted = True
    zf = open_package(data, limits)
    try:
        if sniffed.kind == "docx":
            return read_docx(zf, limits), fmt, converted
        if sniffed.kind == "xlsx":
            return read_xlsx(data, zf, limits), fmt, converted
    finally:
        zf.close()
    raise InputRejected("FILE_UNSUPPORTED", detail={"kind": sniffed.kind})


# ---- identification ---------------------------------------------------------------------------------------


def _doc_keys(doc: DocxDocument | XlsxDocument) -> set[str]:
    keys: set[str] = set()
    if isinstance(doc, DocxDocument):
        for block in doc.blocks:
            texts = [block.text] if isinstance(block, Paragraph) else [
                c.text for r in block.rows for c in r.cells if c.text and not c.continued]
            for text in texts:
                if len(text) <= 60:
                    keys.add(label_key(text))
                    keys.add(core_key(text))
    else:
        for sheet in doc.sheets:
            for row in sheet.rows[:60]:
                for value in row[:40]:
                    if isinstance(value, str) and value and len(value) <= 60:
                        keys.add(label_key(value))
    return keys


def structure_score(lay: Layout, keys: set[str]) -> float:
    """The share of the form's labels (and title) that the document shows."""
    if not lay.signature:
        return 0.0
    hits = sum(1 for k in lay.signature if k in keys or core_key(k) in keys)
    return hits / len(lay.signature)


def _scored(cat: Catalog, kind: str, keys: set[str]) -> list[tuple[float, Form]]:
    """Every form of this kind with the share of its labels the document shows, best first."""
    scored = [(structure_score(layout(form), keys), form)
              for camp in cat.campaigns.values() for form in camp.forms.values() if form.kind == kind]
    scored.sort(key=lambda x: -x[0])
    return scored


def identify(doc: DocxDocument | XlsxDocument, cat: Catalog, campaign: str | None) -> tuple[
        Form | None, str, Problem | None]:
    """The form a document is: by its identity stamp, else by its structure (reported as inferred)."""
    kind = "docx" if isinstance(doc, DocxDocument) else "xlsx"
    stamp = Stamp.from_properties(doc.custom)
    if stamp is not None:
        known = cat.campaigns.get(stamp.campaign)
        form = known.forms.get(stamp.form) if known else None
        if form is not None and form.kind == kind:
            keys = _doc_keys(doc)
            if structure_score(layout(form), keys) < MIN_STRUCTURE_SCORE:
                # The stamp says one form, the content is another (pasted into a downloaded file): trust the content.
                score, other = next(((sc, f) for sc, f in _scored(cat, kind, keys) if f is not form), (0.0, None))
                if other is not None and score >= MIN_STRUCTURE_SCORE:
                    if campaign and other.campaign_id != campaign:
                        return other, "structure", problem(
                            "FORM_WRONG_CAMPAIGN", variant="by_content",
                            campaign=cat.campaigns[other.campaign_id].title, form=other.title)
                    return other, "structure", problem("FORM_STAMP_MISMATCH", stamped=form.title, form=other.title,
                                                       score=score)
            if campaign and form.campaign_id != campaign:
                wanted = cat.campaigns[campaign].title if campaign in cat.campaigns else campaign
                return form, "stamp", problem("FORM_WRONG_CAMPAIGN", variant="by_stamp", campaign=known.title,
                                              form=form.title, wanted=wanted)
            return form, "stamp", None
    scored = _scored(cat, kind, _doc_keys(doc))
    if not scored or scored[0][0] < MIN_STRUCTURE_SCORE:
        expected = "、".join(f"《{f.title}》" for c in cat.campaigns.values() for f in c.forms.values()
                            if campaign in (None, c.id))
        return None, "", problem("FORM_UNKNOWN", forms=expected)
    best_score = scored[0][0]
    best = [f for s, f in scored if s == best_score]
    if campaign:
        in_campaign = [f for f in best if f.campaign_id == campaign]
        if not in_campaign:
            form = best[0]
            return form, "structure", problem("FORM_WRONG_CAMPAIGN", campaign=cat.campaigns[form.campaign_id].title,
                                              form=form.title)
        best = in_campaign
    if len(best) > 1:
        return None, "", problem("FORM_AMBIGUOUS")
    form = best[0]
    return form, "structure", problem("FORM_INFERRED", form=form.title, score=best_score)


# ---- record -----------------------------------------------------------------------------------------------


def _label_gone(result: ParseResult, field_: Field, found: Found, path: str, title: str) -> None:
    """An optional field whose label is no longer in the document: its value may be there, unlabelled."""
    if found.how == NOT_FOUND and not field_.required and not field_.array and found.label:
        result.add(problem("FIELD_LABEL_MISSING", path=path, title=title, label=label_key(found.label)))


def _as_values(field_: Field, candidates: list[Any]) -> list[Any]:
    """Candidates as the values a reviewer can accept: normalized where that is certain, as found otherwise."""
    out: list[Any] = []
    for candidate in candidates:
        norm = normalize(field_, candidate)
        value = norm.value if norm.value is not None and not norm.flag else candidate
        if value not in out:
            out.append(value)
    return out


def _field_value(result: ParseResult, field_: Field, found: Found, path: str, title: str) -> Any:
    _label_gone(result, field_, found, path, title)
    norm = normalize(field_, found.raw) if not found.flag else None
    raw = None if found.raw is None else str(found.raw)
    report = FieldReport(path, title, found.how, found.where, None, raw)
    if found.flag:
        report.flag = found.flag
        result.add(problem(found.flag, variant=found.variant, path=path, title=title, where=found.where,
                           candidates=_as_values(field_, found.candidates), **found.details))
    elif norm is not None and norm.flag:
        report.flag = norm.flag
        result.add(problem(norm.flag, variant=norm.variant, path=path, title=title, where=found.where,
                           candidates=norm.candidates, **norm.details))
    elif norm is not None:
        report.value, report.note = norm.value, norm.note
    result.fields.append(report)
    return report.value


def _build_record(result: ParseResult, form: Form, lay: Layout, extracted: Extracted) -> None:
    record: dict[str, Any] = {}
    by_array: dict[str, list[Field]] = {}
    for field_ in form.fields:
        if field_.array:
            by_array.setdefault(field_.array, []).append(field_)
            continue
        found = extracted.scalars.get(field_.path) or Found(field_.path)
        value = _field_value(result, field_, found, field_.path, field_.title)
        if value is not None:
            record[field_.path] = value
    for array, columns in by_array.items():
        items = extracted.arrays.get(array, [])
        title = form.schema["properties"][array].get("title", array)
        how, where = extracted.array_how.get(array, (NOT_FOUND, None))
        result.fields.append(FieldReport(array, title, how, where, len(items)))
        out = []
        for i, item in enumerate(items):
            obj: dict[str, Any] = {}
            for field_ in columns:
                found = item.get(field_.key) or Found(field_.path)
                value = _field_value(result, field_, found, f"{array}.{i}.{field_.key}",
                                     f"{title}第{i + 1}行“{field_.title}”")
                if value is not None:
                    obj[field_.key] = value
            out.append(obj)
        if out or array in form.schema.get("required", []):
            record[array] = out
    result.record = record


def _where_of(result: ParseResult, path: str) -> Where | None:
    for report in result.fields:
        if report.path == path:
            return report.where
    top = path.split(".", 1)[0]
    for report in result.fields:
        if report.path == top:
            return report.where
    return None


def _validate(result: ParseResult, form: Form, lay: Layout) -> None:
    flagged = {p.path for p in result.problems if p.severity == REVIEW}
    for wrong in check_record(form, result.record):
        if wrong.path in flagged:
            continue  # already waiting for a person's decision
        where = _where_of(result, wrong.path)
        at = {"path": wrong.path, "title": wrong.title, "where": where}
        loc = lay.locators.get(wrong.path) if wrong.code == "FIELD_REQUIRED" else None
        if loc is None:
            result.add(reported(wrong.code, wrong.message, **at))
            continue
        found = next((f for f in result.fields if f.path == wrong.path), None)
        if found is not None and found.how == NOT_FOUND and loc.kind in ("heading_paras", "heading_rows"):
            result.add(problem("SECTION_MISSING", **at, section=loc.label.strip()))
        elif found is not None and found.how == NOT_FOUND:
            result.add(problem("FIELD_REQUIRED", variant="label_missing", **at, label=label_key(loc.label)))
        else:
            result.add(problem("FIELD_REQUIRED", variant="at_label", **at, label=label_key(loc.label)))
