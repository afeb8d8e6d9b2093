"""The schema check of a record read from a document: each problem placed where its field was found.

The same schema problems as :mod:`service.validate.schema`, told the way a person can act on them in the
document: a missing required value names the label it belongs beside, or the section that is gone, or — in a
file issued under an earlier version of the form — the version the file is; a field already waiting for a
person's decision is not reported twice.
"""

from __future__ import annotations

from service.forms.catalog import Form
from service.forms.layout import Layout, label_key
from service.forms.versions import older
from service.problems.location import Where
from service.problems.report import REVIEW, ParseResult, problem, reported
from service.validate.schema import check_record

NOT_FOUND = "not_found"  # FieldReport.how of a field the parser did not find


def _where_of(result: ParseResult, path: str) -> Where | None:
    """Where the field at ``path`` was found, else where its table was (a missing row's value has no place)."""
    for report in result.fields:
        if report.path == path:
            return report.where
    top = path.split(".", 1)[0]
    for report in result.fields:
        if report.path == top:
            return report.where
    return None


def _older(result: ParseResult, form: Form) -> bool:
    """Whether the file says (by its stamp) it was issued under an earlier version of the form than ``form``."""
    return bool(result.schema_version) and older(result.schema_version, form.version)


def check_parsed(result: ParseResult, form: Form, lay: Layout) -> None:
    """Add the schema problems of ``result.record`` to ``result``, each with its place in the document."""
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
        elif found is not None and found.how == NOT_FOUND and _older(result, form):
            # Issued under an earlier version that had no such label: say which version the file is, not that
            # the person deleted a label.
            result.add(problem("FIELD_REQUIRED", variant="older_version", **at, label=label_key(loc.label),
                               used=result.schema_version, current=form.version))
        elif found is not None and found.how == NOT_FOUND:
            result.add(problem("FIELD_REQUIRED", variant="label_missing", **at, label=label_key(loc.label)))
        else:
            result.add(problem("FIELD_REQUIRED", variant="at_label", **at, label=label_key(loc.label)))
