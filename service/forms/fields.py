"""The flat list of a form's fields, derived from its JSON Schema.

Rendering, parsing, validation, exports and the web form all iterate over the same list, so a field
exists in exactly one place: the schema. Paths are ``key`` for top-level values and ``array[].key``
for the columns of a repeated table.
"""

from __future__ import annotations

from dataclasses import dataclass

#: How a schema's pattern for a date known to the month or to the day starts: ``YYYY-MM``.
MONTH_OR_DAY_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])"


@dataclass(frozen=True)
class Field:
    """One schema field as the rest of the system sees it."""

    path: str
    title: str
    description: str
    type: str  # string | integer | lines (array of strings)
    required: bool
    enum: tuple[str, ...] = ()
    format: str | None = None  # the schema's format (date, email …), or "month": a date to the month or to the day
    pattern: str | None = None
    max_length: int | None = None
    array: str | None = None  # for columns of a repeated table: the array's key
    separator: str | None = None  # a text field holding several names joins them with this (schema: x-separator)

    @property
    def key(self) -> str:
        """The last path segment: the key inside a record or an array item."""
        return self.path.rsplit(".", 1)[-1] if self.array else self.path


def _format(spec: dict) -> str | None:
    """The schema's ``format``; a date that may be written to the month only (成立时间 2009年6月, 印发日期 2010年5月)
    is a string whose pattern is ``YYYY-MM`` with an optional ``-DD``, which JSON Schema has no format for."""
    if spec.get("format"):
        return spec["format"]
    return "month" if spec.get("pattern", "").startswith(MONTH_OR_DAY_PATTERN) else None


def _leaf(path: str, spec: dict, required: bool, array: str | None) -> Field:
    kind = spec.get("type", "string")
    if kind == "array":
        kind = "lines"
    return Field(
        path=path,
        title=spec.get("title", path),
        description=spec.get("description", ""),
        type=kind,
        required=required,
        enum=tuple(spec.get("enum", ())),
        format=_format(spec),
        pattern=spec.get("pattern"),
        max_length=spec.get("maxLength"),
        array=array,
        separator=spec.get("x-separator"),
    )


def schema_fields(schema: dict) -> list[Field]:
    """Walk the top-level properties; arrays of objects become one field per column."""
    out: list[Field] = []
    required = set(schema.get("required", ()))
    for key, spec in schema.get("properties", {}).items():
        if not isinstance(spec, dict):
            continue  # a boolean schema (``false``: the key may not be given) is no field
        items = spec.get("items") if isinstance(spec.get("items"), dict) else {}
        if spec.get("type") == "array" and items.get("type") == "object":
            item_required = set(items.get("required", ()))
            for sub, sub_spec in items.get("properties", {}).items():
                if isinstance(sub_spec, dict):
                    out.append(_leaf(f"{key}[].{sub}", sub_spec, sub in item_required, key))
        else:
            out.append(_leaf(key, spec, key in required, None))
    return out


def arrays(fields: list[Field]) -> dict[str, list[Field]]:
    """Columns of each repeated table, keyed by the array's key, in schema order."""
    out: dict[str, list[Field]] = {}
    for f in fields:
        if f.array:
            out.setdefault(f.array, []).append(f)
    return out
