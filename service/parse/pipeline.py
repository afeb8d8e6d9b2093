"""Read a returned file back into a validated record: the one entry point of the core for parsing.

bytes + file name → :class:`ParseResult`, through the stages of the architecture's data flow, in this order:
read (vet the bytes, convert legacy formats, :mod:`service.parse.read`), identify the form by its stamp or
else by its structure (:mod:`service.parse.identify`), extract every field by its anchor or else its label
(:mod:`service.parse.extract`), normalize each into the record (:mod:`service.parse.record`), validate against
the schema (:mod:`service.validate.parsed`) and the campaign's rules (:mod:`service.validate.rules`). Nothing
here imports Flask: the CLI, the web app and background jobs call the same function.

A PDF or a picture goes the same way, laid out as a Word file's paragraphs and tables; what was read by OCR is
then weighed and placed (:mod:`service.parse.extract.scan`) before the record is checked.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.forms.catalog import Catalog, catalog
from service.forms.layout import layout
from service.office.convert.protocol import ConversionError
from service.office.docx import DocxDocument
from service.office.limits import DEFAULT_LIMITS, Limits
from service.office.pages import PagedDocument
from service.office.rejected import InputRejected
from service.parse.extract.docx import extract_docx
from service.parse.extract.scan import KeepPicture, read_pages
from service.parse.extract.xlsx import extract_xlsx
from service.parse.identify import identify, record_identity
from service.parse.read import read_document
from service.parse.record import build_record
from service.problems.report import REVIEW, ParseResult, Problem, reported
from service.validate.parsed import check_parsed
from service.validate.rules import document_rules


def parse(
    data: bytes,
    filename: str,
    *,
    campaign: str | None = None,
    received_at: dt.datetime | None = None,
    cat: Catalog | None = None,
    converter: Any = None,
    limits: Limits = DEFAULT_LIMITS,
    submitter: str | None = None,
    keep_picture: KeepPicture | None = None,
) -> ParseResult:
    """Parse one returned file. ``campaign`` is the campaign it was sent to (None: any); ``submitter`` the unit
    that sent it, when known (its deadline may be extended). ``keep_picture(png, path)`` keeps the picture of
    each value read from a scan for its reviewer and returns its reference (``metrics["scan"]``)."""
    cat = cat or catalog()
    received = received_at or dt.datetime.now(dt.UTC)
    result = ParseResult(file=filename, received_at=received.isoformat(timespec="seconds"))
    try:
        doc, result.format, result.converted = read_document(data, filename, converter, limits)
    except (InputRejected, ConversionError) as exc:
        return _unreadable(result, reported(exc.code, exc.message))
    paged = doc if isinstance(doc, PagedDocument) else None
    if paged is not None:
        doc = paged.document

    form, identified_by, note = identify(doc, cat, campaign)
    if form is None and paged is not None and paged.sheet is not None:
        # Pages that are no Word form may be a spreadsheet form printed (the 汇总表): the same pages as a sheet.
        form, identified_by, sheet_note = identify(paged.sheet, cat, campaign)
        doc, note = (paged.sheet, sheet_note) if form is not None else (doc, note)
    if form is None:
        return _unreadable(result, note)
    record_identity(result, doc, form, identified_by, note)
    if result.errors:
        return result  # a form of another campaign: named, not read
    # A file issued under an earlier version of the form is read with that version's layout and schema, when the
    # campaign keeps it (its stamp says which); FORM_VERSION has told the person which version it is.
    form = form.at(result.schema_version) if result.schema_version else form

    lay = layout(form)
    extracted = extract_docx(doc, lay) if isinstance(doc, DocxDocument) else extract_xlsx(doc, lay)
    for sheet_problem in extracted.problems:
        result.add(sheet_problem)
    pages = read_pages(paged, form, lay, extracted, keep_picture) if paged is not None else None
    build_record(result, form, extracted)
    if pages is not None:
        pages.report(result)
    check_parsed(result, form, lay)
    document_rules(result, form, cat, received, submitter)
    return result


IDENTITY_CODES = {"FORM_INFERRED", "FORM_STAMP_MISMATCH", "FORM_VERSION", "SHEET_EXTRA", "SHEET_CONFLICT"}
#: What reading a PDF or a picture found about the document as a whole (how it was read, a seal missing).
PAGE_CODES = {"SCAN_READ", "SEAL_MISSING"}


def revalidate(result: ParseResult, cat: Catalog | None = None, decided: set[str] = frozenset(),
               received_at: dt.datetime | None = None, submitter: str | None = None) -> ParseResult:
    """Check ``result.record`` again (after a reviewer accepted or corrected values at ``decided`` paths).

    Field flags of undecided paths and identification notes stay; schema and campaign rules run afresh.
    """
    cat = cat or catalog()
    if not result.readable or not result.form:
        return result
    form = cat.form(result.campaign, result.form)
    form = form.at(result.schema_version) if result.schema_version else form
    result.problems = [p for p in result.problems if p.code in IDENTITY_CODES | PAGE_CODES or (
        p.severity == REVIEW and p.path and p.code.startswith("FIELD_") and p.path not in decided)]
    received = received_at or (dt.datetime.fromisoformat(result.received_at) if result.received_at
                               else dt.datetime.now(dt.UTC))
    check_parsed(result, form, layout(form))
    document_rules(result, form, cat, received, submitter)
    return result


def _unreadable(result: ParseResult, why: Problem) -> ParseResult:
    result.readable = False
    result.add(why)
    return result
