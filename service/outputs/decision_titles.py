"""What a reviewer's decision is about, in words: one function for the report, the marked copy and the 资料汇编.

A decision's path names a field (``contact_email``), a cell of a table (``members.3.name``), or, after ``#``, a
document-level item of the problem catalogue (``#SUBMISSION_LATE``, taken in as it is)."""

from __future__ import annotations

from service.forms.catalog import Form
from service.problems.catalogue import UnknownProblem, entry

DOCUMENT_DECISION = "#"  # a decision path "#SUBMISSION_LATE": a reviewer accepted a document-level item


def document_code(path: str) -> str | None:
    """The catalogue code of a document-level decision's path, or None for a field's."""
    return path[len(DOCUMENT_DECISION):] if path.startswith(DOCUMENT_DECISION) else None


def decision_title(form: Form | None, path: str) -> str:
    """The field's title (a table cell's with its row), or the catalogue's title of a document-level item
    (#SUBMISSION_LATE → 逾期报送)."""
    code = document_code(path)
    if code is not None:
        try:
            return entry(code).title
        except UnknownProblem:
            return path
    titles = {f.path: f.title for f in form.fields} if form else {}
    parts = path.split(".")
    if len(parts) == 3 and parts[1].isdigit():
        return f"{titles.get(f'{parts[0]}[].{parts[2]}', parts[2])}（第{int(parts[1]) + 1}行）"
    return titles.get(path, path)
