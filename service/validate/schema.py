"""Schema checks of a record with Chinese messages, shared by the API and the CLI before rendering.

A partial record is fine for prefilling (missing required fields are the person's job to fill in), so
``partial=True`` ignores ``required``; every other problem is reported, all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.forms.catalog import Form
from service.problems.catalogue import entry, message


@dataclass(frozen=True)
class FieldProblem:
    """One schema problem: where, which field, what rule, and what to do."""

    path: str
    title: str
    code: str
    message: str


#: JSON Schema keyword → problem code (the wording is the code's entry in data/problems.json).
_CODES = {
    "required": "FIELD_REQUIRED",
    "type": "FIELD_TYPE",
    "enum": "FIELD_ENUM",
    "pattern": "FIELD_PATTERN",
    "format": "FIELD_FORMAT",
    "maxLength": "FIELD_TOO_LONG",
    "minLength": "FIELD_TOO_SHORT",
    "minimum": "FIELD_RANGE",
    "maxItems": "FIELD_TOO_MANY",
    "minItems": "FIELD_TOO_FEW",
    "additionalProperties": "FIELD_UNKNOWN",
}


def _title(form: Form, path: list) -> tuple[str, str]:
    """The dotted instance path (``members.3.name``) and the Chinese title of the field it falls in."""
    dotted = ".".join(str(p) for p in path)
    keys = [str(p) for p in path if not isinstance(p, int)]
    schema_path = f"{keys[0]}[].{keys[1]}" if len(keys) >= 2 else (keys[0] if keys else "")
    for f in form.fields:
        if f.path == schema_path:
            return dotted, f.title
    top = form.schema.get("properties", {}).get(keys[0] if keys else "", {})
    return dotted, top.get("title", dotted or form.title)


def check_record(form: Form, record: dict, *, partial: bool = False) -> list[FieldProblem]:
    """All schema problems of ``record``; with ``partial`` missing required values are not problems."""
    out: list[FieldProblem] = []
    if form.is_valid(record):
        return out  # the common case, decided by the compiled check
    for err in form.validator.iter_errors(record):
        if partial and err.validator == "required":
            continue
        path = list(err.absolute_path)
        if err.validator == "required":
            missing = err.message.split("'")[1] if "'" in err.message else ""
            path = path + [missing]
        dotted, title = _title(form, path)
        code = _CODES.get(str(err.validator), "FIELD_INVALID")
        spec = err.schema if isinstance(err.schema, dict) else {}
        # A type error is worded per expected type (整数、文字 …); a union of types gets the general wording.
        expected = str(err.validator_value)
        variant = expected if code == "FIELD_TYPE" and expected in entry(code).variants else None
        values = {"title": title, "options": "、".join(map(str, spec.get("enum", []))),
                  "description": spec.get("description", ""), "limit": err.validator_value}
        wanted = entry(code).fields(variant)
        out.append(FieldProblem(dotted, title, code, message(code, variant, **{k: values[k] for k in wanted})))
    return out
