"""Read a returned file back into a validated record: the one entry point of the core for parsing.

bytes + file name → :class:`ParseResult`, through the stages of the architecture's data flow, in this order:
read (vet the bytes, convert legacy formats, :mod:`service.parse.read`), identify the form by its stamp or
else by its structure (:mod:`service.parse.identify`), extract every field by its anchor or else its label
(:mod:`service.parse.extract`), normalize each into the record (:mod:`service.parse.record`), validate against
the schema (:mod:`service.validate.parsed`) and the campaign's rules (:mod:`service.validate.rules`). Nothing
here imports Flask: the CLI, the web app and background jobs call the same function.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from service.forms.catalog import Catalog, catalog
from service.forms.layout import layout
from service.office.convert.protocol import ConversionError
from service.office.docx import DocxDocument
from service.office.limits import DEFAULT_LIMITS, Limits
from service.office.rejected import InputRejected
from service.parse.extract.docx import extract_docx
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
) -> ParseResult:
    """Parse one returned file. ``campaign`` is the campaign it was sent to (None: any); ``submitter`` the unit
    that sent it, when known (its deadline may be extended)."""
    cat = cat or catalog()
    received = received_at or dt.datetime.now(dt.UTC)
    result = ParseResult(file=filename, received_at=received.isoformat(timespec="seconds"))
    try:
        doc, result.format, result.converted = read_document(data, filename, converter, limits)
    except (InputRejected, ConversionError) as exc:
        return _unreadable(result, reported(exc.code, exc.message))

    form, identified_by, note = identify(doc, cat, campaign)
    if form is None:
        return _unreadable(result, note)
    record_identity(result, doc, form, identified_by, note)
    if result.errors:
        return result  # a form of another campaign: named, not read

    lay = layout(form)
    extracted = extract_docx(doc, lay) if isinstance(doc, DocxDocument) else extract_xlsx(doc, lay)
    for sheet_problem in extracted.problems:
        result.add(sheet_problem)
    build_record(result, form, extracted)
    check_parsed(result, form, lay)
    document_rules(result, form, cat, received, submitter)
    return result


IDENTITY_CODES = {"FORM_INFERRED", "FORM_STAMP_MISMATCH", "FORM_VERSION", "SHEET_EXTRA", "SHEET_CONFLICT"}


def revalidate(result: ParseResult, cat: Catalog | None = None, decided: set[str] = frozenset(),
               received_at: dt.datetime | None = None, submitter: str | None = None) -> ParseResult:
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
    check_parsed(result, form, layout(form))
    document_rules(result, form, cat, received, submitter)
    return result


def _unreadable(result: ParseResult, why: Problem) -> ParseResult:
    result.readable = False
    result.add(why)
    return result
