"""The document under check, and how rules address its fields: a field path to its values, title and place.

Rules name fields by their schema paths (``group_name``, ``rows[].group_name``); a problem names the instance
path (``rows.3.group_name``), the field's Chinese title and where in the document the value was found.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from service.forms.catalog import Campaign, Catalog, Form
from service.problems.location import Where
from service.problems.report import ParseResult


@dataclass(frozen=True)
class Document:
    """One parsed document with its form, the catalogue, its campaign and when it was received."""

    result: ParseResult
    form: Form
    cat: Catalog
    campaign: Campaign
    received: dt.datetime
    submitter: str | None = None  # the unit that sent it (its deadline may be extended)

    @property
    def record(self) -> dict:
        return self.result.record

    def at(self, path: str) -> dict[str, Any]:
        """The place arguments of a problem about the field at instance ``path``."""
        return {"path": path, "title": title(self.form, path), "where": where(self.result, path)}


def values(record: dict, path: str) -> list[tuple[str, Any]]:
    """(instance path, value) of a field path; ``rows[].group_name`` gives one per row."""
    if "[]." in path:
        array, key = path.split("[].", 1)
        return [(f"{array}.{i}.{key}", item.get(key)) for i, item in enumerate(record.get(array) or [])
                if item.get(key) not in (None, "")]
    return [(path, record[path])] if record.get(path) not in (None, "") else []


def title(form: Form, path: str) -> str:
    """The Chinese title of the field at an instance path (``rows.3.rank`` → the title of ``rows[].rank``)."""
    schema_path = path
    parts = path.split(".")
    if len(parts) == 3:
        schema_path = f"{parts[0]}[].{parts[2]}"
    return next((f.title for f in form.fields if f.path == schema_path), path)


def where(result: ParseResult, path: str) -> Where | None:
    """Where the parser found the field at instance ``path`` (None for a record not read from a document)."""
    return next((f.where for f in result.fields if f.path == path), None)
