"""Schema checks of a record with Chinese messages, shared by the API and the CLI before rendering.

Whether a record is valid is the draft 2020-12 validator's verdict (``Form.is_valid``), so it cannot differ from
the schema; each error it gives is worded from the catalogue at the field it is about, for every keyword of 2020-12
(an error no wording recognises is still reported, as 不符合要求, never dropped). A partial record is fine for
prefilling (missing required fields are the person's job to fill in), so ``partial=True`` ignores ``required``
and ``dependentRequired``; every other problem is reported, all at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema.exceptions import ValidationError

from service.forms.catalog import Form
from service.problems.catalogue import entry, message


@dataclass(frozen=True)
class FieldProblem:
    """One schema problem: where, which field, what rule, and what to do."""

    path: str
    title: str
    code: str
    message: str


#: JSON Schema keyword → (problem code, variant): the wording is the code's entry in data/problems.json. Keywords
#: that only pass their subschemas' errors on (allOf, $ref, if/then/else, dependentSchemas, prefixItems, items as a
#: schema) need none: each error they pass on is worded by its own keyword, at its own place.
_CODES: dict[str, tuple[str, str | None]] = {
    "required": ("FIELD_REQUIRED", None),
    "dependentRequired": ("FIELD_REQUIRED", "depends"),
    "type": ("FIELD_TYPE", None),
    "enum": ("FIELD_ENUM", None),
    "const": ("FIELD_ENUM", "const"),
    "pattern": ("FIELD_PATTERN", None),
    "format": ("FIELD_FORMAT", None),
    "maxLength": ("FIELD_TOO_LONG", None),
    "minLength": ("FIELD_TOO_SHORT", None),
    "minimum": ("FIELD_RANGE", None),
    "maximum": ("FIELD_RANGE", "maximum"),
    "exclusiveMinimum": ("FIELD_RANGE", "exclusive_minimum"),
    "exclusiveMaximum": ("FIELD_RANGE", "exclusive_maximum"),
    "multipleOf": ("FIELD_RANGE", "multiple_of"),
    "maxItems": ("FIELD_TOO_MANY", None),
    "minItems": ("FIELD_TOO_FEW", None),
    "maxProperties": ("FIELD_TOO_MANY", None),
    "minProperties": ("FIELD_TOO_FEW", None),
    "contains": ("FIELD_TOO_FEW", "contains"),
    "minContains": ("FIELD_TOO_FEW", "contains"),
    "maxContains": ("FIELD_TOO_MANY", "contains"),
    "uniqueItems": ("FIELD_DUPLICATE_ITEMS", None),
    "items": ("FIELD_TOO_MANY", None),  # items: false after prefixItems
    "unevaluatedItems": ("FIELD_TOO_MANY", None),
    "additionalProperties": ("FIELD_UNKNOWN", None),
    "unevaluatedProperties": ("FIELD_UNKNOWN", None),
}
#: What a ``contains`` asks for when its subschema has neither a title nor a description.
_ANY_MATCH = "符合要求"


def _title(form: Form, path: list) -> tuple[str, str]:
    """The dotted instance path (``members.3.name``) and the Chinese title of the field it falls in."""
    dotted = ".".join(str(p) for p in path)
    keys = [str(p) for p in path if not isinstance(p, int)]
    schema_path = f"{keys[0]}[].{keys[1]}" if len(keys) >= 2 else (keys[0] if keys else "")
    for f in form.fields:
        if f.path == schema_path:
            return dotted, f.title
    top = form.schema.get("properties", {}).get(keys[0] if keys else "", {})
    return dotted, (top.get("title") if isinstance(top, dict) else None) or dotted or form.title


def _named(instance: Any, names: Any, said: str) -> list[str]:
    """Which of ``names`` an error's message is about (jsonschema names each with its repr)."""
    return [n for n in names if isinstance(n, str) and repr(n) in said and not (
        isinstance(instance, dict) and n in instance)]


def _unknown(err: ValidationError) -> list[str]:
    """The keys an additionalProperties/unevaluatedProperties error refuses."""
    instance = err.instance if isinstance(err.instance, dict) else {}
    return [k for k in instance if repr(k) in err.message] or list(instance)


def _limit(err: ValidationError) -> Any:
    spec = err.schema if isinstance(err.schema, dict) else {}
    if err.validator == "contains":
        return spec.get("minContains", 1)
    if err.validator in ("items", "unevaluatedItems"):
        return len(spec.get("prefixItems", []))
    return err.validator_value


def _what(spec: dict) -> str:
    contains = spec.get("contains") if isinstance(spec.get("contains"), dict) else {}
    return contains.get("title") or contains.get("description") or _ANY_MATCH


def _worded(form: Form, err: ValidationError, path: list, code: str, variant: str | None,
            **extra: Any) -> FieldProblem:
    dotted, title = _title(form, path)
    spec = err.schema if isinstance(err.schema, dict) else {}
    options = spec.get("enum", [spec.get("const")] if "const" in spec else [])
    values = {"title": title, "options": "、".join(map(str, options)), "limit": _limit(err),
              "description": spec.get("description") or "请按表单的说明填写", "what": _what(spec), **extra}
    wanted = entry(code).fields(variant)
    return FieldProblem(dotted, title, code, message(code, variant, **{k: values[k] for k in wanted}))


def _refused(form: Form, err: ValidationError, record: Any) -> list[str]:
    """The keys a ``false`` property schema refuses (jsonschema reports them at the object, not at the key)."""
    steps = list(err.schema_path)
    if not steps or steps[-1] != "properties":
        return []
    spec: Any = form.schema
    for step in steps[:-1]:
        spec = spec.get(step) if isinstance(spec, dict) else spec[step] if isinstance(spec, list) else None
    instance: Any = record
    for step in err.absolute_path:
        instance = instance[step]
    properties = spec.get("properties", {}) if isinstance(spec, dict) else {}
    return [k for k, v in properties.items() if v is False and isinstance(instance, dict) and k in instance]


def _problems(form: Form, err: ValidationError, record: Any, partial: bool) -> Iterator[FieldProblem]:
    """The field problems of one validation error, each at the field it is about."""
    keyword = str(err.validator) if err.validator is not None else ""
    path = list(err.absolute_path)
    if keyword == "required":
        if not partial:
            for name in _named(err.instance, err.validator_value, err.message):
                yield _worded(form, err, [*path, name], "FIELD_REQUIRED", None)
        return
    if keyword == "dependentRequired":
        if partial:
            return
        for given, needed in err.validator_value.items():
            for name in needed:
                if err.message == f"{name!r} is a dependency of {given!r}":
                    other = _title(form, [*path, given])[1]
                    yield _worded(form, err, [*path, name], "FIELD_REQUIRED", "depends", other=other)
        return
    if keyword in ("additionalProperties", "unevaluatedProperties") and err.validator_value is False:
        for key in _unknown(err):
            yield _worded(form, err, [*path, key], "FIELD_UNKNOWN", None)
        return
    if not keyword and err.schema is False:
        for key in _refused(form, err, record):
            yield _worded(form, err, [*path, key], "FIELD_UNKNOWN", None)  # a property whose schema is false
        return
    if keyword == "type":
        expected = str(err.validator_value)
        yield _worded(form, err, path, "FIELD_TYPE", expected if expected in entry("FIELD_TYPE").variants else None)
        return
    code, variant = _CODES.get(keyword, ("FIELD_INVALID", None))
    if code == "FIELD_INVALID" and isinstance(err.schema, dict) and err.schema.get("description"):
        variant = "described"
    yield _worded(form, err, path, code, variant)


def check_record(form: Form, record: dict, *, partial: bool = False) -> list[FieldProblem]:
    """All schema problems of ``record``; with ``partial`` missing required values are not problems.

    Whether there are any is the draft 2020-12 validator's verdict (``form.is_valid``); every error it gives is
    worded in Chinese at the field it is about, whatever keyword of 2020-12 the schema uses.
    """
    if form.is_valid(record):
        return []
    out: list[FieldProblem] = []
    for err in form.validator.iter_errors(record):
        told = list(_problems(form, err, record, partial))
        if not told and not (partial and err.validator in ("required", "dependentRequired")):
            # Never silent: an error no wording above recognises is still a problem at its place.
            told = [_worded(form, err, list(err.absolute_path), "FIELD_INVALID", None)]
        out += told
    return out
