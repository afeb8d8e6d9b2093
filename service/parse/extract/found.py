"""What extraction hands to the record stage: for each field, what was found, how and where.

Both readers (Word, :mod:`service.parse.extract.docx`; Excel, :mod:`service.parse.extract.xlsx`) yield this one
shape, so the record stage after them never asks which kind of file a value came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.forms.layout import label_key
from service.problems.location import Where
from service.problems.report import Problem

CONTENT_CONTROL, DEFINED_NAME, LABEL, HEADER, NOT_FOUND = "content_control", "defined_name", "label", "header", "not_found"


@dataclass
class Found:
    """What was found for one field (or one cell of a repeated table)."""

    path: str
    raw: Any = None
    how: str = NOT_FOUND
    where: Where | None = None
    label: str = ""
    flag: str = ""  # the problem code when a person must decide, worded by the catalogue with these:
    variant: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    candidates: list[Any] = field(default_factory=list)


@dataclass
class Extracted:
    """Scalars by path, repeated tables as lists of rows (key → Found), and where each table was."""

    scalars: dict[str, Found]
    arrays: dict[str, list[dict[str, Found]]]
    array_how: dict[str, tuple[str, Where | None]]
    sheet: str = ""
    problems: list[Problem] = field(default_factory=list)  # another copy of the form in the workbook

    def raw_values(self) -> tuple[dict[str, str], dict[str, list[dict[str, str]]]]:
        """What was read, compared the way labels are (blanks and widths ignored)."""
        def key(found: Found) -> str:
            return label_key(str(found.raw)) if not is_blank(found.raw) else ""
        return ({p: key(f) for p, f in self.scalars.items()},
                {a: [{k: key(f) for k, f in item.items()} for item in items] for a, items in self.arrays.items()})


def is_blank(value: Any) -> bool:
    """Nothing a person wrote: no value, or only blanks."""
    return value is None or (isinstance(value, str) and not value.strip())


def ambiguous(found: Found, values: list[tuple[str, Where]]) -> Found:
    """The field was seen in several places with different values: a person chooses, nothing is guessed."""
    found.flag = "FIELD_AMBIGUOUS"
    found.candidates = [v for v, _ in values]
    found.details = {"places": "；".join(f"{w.text()}：“{v[:40]}”" for v, w in values)}
    found.where = values[0][1]
    return found
