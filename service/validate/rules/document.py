"""The document under check, and how rules address its fields: a field path to its values, title and place.

Rules name fields by their schema paths (``group_name``, ``rows[].group_name``); a problem names the instance
path (``rows.3.group_name``), the field's Chinese title and where in the document the value was found. A rule's
problem is worded by the catalogue unless the campaign's data words it (its ``messages``, or a rule's own
``message``): :func:`campaign_problem` is how a rule makes one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from service.forms.catalog import Campaign, Catalog, Form
from service.problems.catalogue import entry, phrases
from service.problems.location import Where
from service.problems.report import ParseResult, Problem, problem


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

    def problem(self, code: str, /, *, variant: str | None = None, own: str | None = None,
                more: dict[str, Any] | None = None, **kwargs: Any) -> Problem:
        """A problem of this document's campaign (see :func:`campaign_problem`)."""
        return campaign_problem(self.campaign, code, variant=variant, own=own, more=more, **kwargs)


class _Kept(dict):
    """Template values where a name no value was given for stays as written (the load checks the names)."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, code: str, variant: str | None, fields: dict[str, Any]) -> str:
    """A campaign's template for ``code`` filled: the problem's fields, the shared phrases and the code's fix."""
    spec = entry(code)
    values = _Kept({**phrases(), **fields})
    fix = (spec.variants.get(variant, {}).get("fix") if variant else None) or spec.fix
    if fix is not None:
        values["fix"] = fix.format_map(values)
    return template.format_map(values)


def campaign_problem(campaign: Campaign, code: str, /, *, variant: str | None = None, own: str | None = None,
                     more: dict[str, Any] | None = None, path: str = "", title: str = "", where: Where | None = None,
                     candidates: Iterable[Any] = (), **fields: Any) -> Problem:
    """The problem ``code`` worded as the campaign's data says (a rule's ``own`` message, else the campaign's
    ``messages`` for the code), else as the catalogue does; severity and code are always the catalogue's.
    ``fields`` fill the catalogue's wording, ``more`` the names only a campaign's own wording may use."""
    made = problem(code, variant=variant, path=path, title=title, where=where, candidates=candidates, **fields)
    template = own or campaign.wording(code, variant)
    if template:
        made.message = fill(template, code, variant, {"title": title, **fields, **(more or {})})
    return made


def values(record: dict, path: str) -> list[tuple[str, Any]]:
    """(instance path, value) of a field path; ``rows[].group_name`` gives one per row."""
    if "[]." in path:
        array, key = path.split("[].", 1)
        return [(f"{array}.{i}.{key}", item.get(key)) for i, item in enumerate(record.get(array) or [])
                if item.get(key) not in (None, "")]
    return [(path, record[path])] if record.get(path) not in (None, "") else []


def cells(record: dict, path: str) -> list[tuple[str, Any]]:
    """(instance path, value) of a field path, empty values included: one per row of a table column."""
    if "[]." in path:
        array, key = path.split("[].", 1)
        rows = record.get(array) or []
        return [(f"{array}.{i}.{key}", item.get(key) if isinstance(item, dict) else None)
                for i, item in enumerate(rows)]
    return [(path, record.get(path))]


def paired(record: dict, path: str, other: str) -> list[tuple[str, Any, str, Any]]:
    """Each value of ``path`` with the value of ``other`` it goes with: the same row's when both are columns of one
    table, the one value when ``other`` is not in a table. (path, value, other's path, other's value)."""
    out = []
    for ipath, value in cells(record, path):
        if "[]." not in other:
            out.append((ipath, value, other, record.get(other)))
        elif "[]." in path and path.split("[].")[0] == other.split("[].")[0]:
            array, index = ipath.split(".")[:2]
            key = other.split("[].", 1)[1]
            row = (record.get(array) or [])[int(index)]
            out.append((ipath, value, f"{array}.{index}.{key}", row.get(key) if isinstance(row, dict) else None))
    return out


def empty(value: Any) -> bool:
    """Nothing written: no value, blank text, an empty list."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def title(form: Form, path: str) -> str:
    """The Chinese title of the field at an instance path (``rows.3.rank`` → the title of ``rows[].rank``)."""
    schema_path = path
    parts = path.split(".")
    if len(parts) == 3:
        schema_path = f"{parts[0]}[].{parts[2]}"
    found = next((f.title for f in form.fields if f.path == schema_path), None)
    if found is None:  # a table as a whole (``rows``): its own title in the schema
        spec = form.schema.get("properties", {}).get(parts[0], {})
        found = spec.get("title") if isinstance(spec, dict) else None
    return found or path


def where(result: ParseResult, path: str) -> Where | None:
    """Where the parser found the field at instance ``path`` (None for a record not read from a document)."""
    return next((f.where for f in result.fields if f.path == path), None)
