"""Found values to the record: each field normalized, or flagged for a person with the candidates to choose.

Every field gets a :class:`FieldReport` (how and where it was found, its value or its flag), so the report
can show each value beside its place in the document; the record holds only the values read with certainty.
"""

from __future__ import annotations

from typing import Any

from service.forms.catalog import Form
from service.forms.fields import Field
from service.forms.layout import label_key
from service.parse.extract.found import NOT_FOUND, Extracted, Found
from service.parse.normalize import normalize
from service.problems.report import FieldReport, ParseResult, problem


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


def build_record(result: ParseResult, form: Form, extracted: Extracted) -> None:
    """Set ``result.record`` from ``extracted``, adding a field report for every field and table row."""
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
        keyed = [(field_, field_.key) for field_ in columns]  # Field.key splits the path on each call
        for i, item in enumerate(items):
            obj: dict[str, Any] = {}
            for field_, key in keyed:
                found = item.get(key) or Found(field_.path)
                value = _field_value(result, field_, found, f"{array}.{i}.{key}", f"{title}第{i + 1}行“{field_.title}”")
                if value is not None:
                    obj[key] = value
            out.append(obj)
        if out or array in form.schema.get("required", []):
            record[array] = out
    result.record = record
