"""What a form's JSON Schema may say: the keywords of draft 2020-12 that the validator acts on, its annotations, and
``x-`` extensions of this service; the formats the validator checks.

The validator (jsonschema's ``Draft202012Validator``) ignores a keyword it does not know and a format it has no
check for, so a misspelt ``minimun`` or a ``"format": "phone"`` would silently accept anything. A form's schema is
refused at load when it holds either, with the place in the schema, so what the schema says is what is checked.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jsonschema import Draft202012Validator

#: Keywords whose value is one subschema, an object of subschemas, or a list of subschemas.
ONE_SCHEMA = frozenset({"items", "additionalProperties", "unevaluatedProperties", "unevaluatedItems", "contains",
                        "propertyNames", "not", "if", "then", "else", "contentSchema"})
SCHEMA_MAP = frozenset({"properties", "patternProperties", "$defs", "dependentSchemas"})
SCHEMA_LIST = frozenset({"prefixItems", "allOf", "anyOf", "oneOf"})
#: Keywords the validator reads inside another's check (``then``/``else`` by ``if``, the bounds by ``contains``).
READ_BY_OTHERS = frozenset({"then", "else", "minContains", "maxContains"})
#: Annotations and the core's identifiers: they change no verdict.
ANNOTATIONS = frozenset({"$schema", "$id", "$anchor", "$dynamicAnchor", "$vocabulary", "$comment", "$defs", "title",
                         "description", "default", "examples", "deprecated", "readOnly", "writeOnly",
                         "contentEncoding", "contentMediaType", "contentSchema"})
#: Every keyword a form's schema may use outside the ``x-`` extensions.
KNOWN = frozenset(Draft202012Validator.VALIDATORS) | READ_BY_OTHERS | ANNOTATIONS


def subschemas(schema: Any, place: tuple = ()) -> Iterator[tuple[tuple, dict]]:
    """Every (sub)schema object with its place (the keys from the root), the root first."""
    if not isinstance(schema, dict):
        return
    yield place, schema
    for key, value in schema.items():
        if key.startswith("x-"):
            continue
        if key in ONE_SCHEMA:
            yield from subschemas(value, (*place, key))
        elif key in SCHEMA_MAP and isinstance(value, dict):
            for name, sub in value.items():
                yield from subschemas(sub, (*place, key, name))
        elif key in SCHEMA_LIST and isinstance(value, list):
            for i, sub in enumerate(value):
                yield from subschemas(sub, (*place, key, i))


def unknown_keywords(schema: dict) -> list[tuple[tuple, str]]:
    """(place, keyword) of every keyword the validator would ignore without a word."""
    return [(place, key) for place, sub in subschemas(schema) for key in sub
            if key not in KNOWN and not key.startswith("x-")]


def unchecked_formats(schema: dict, checked: set[str]) -> list[tuple[tuple, str]]:
    """(place, format) of every ``format`` the format checker has no check for."""
    return [(place, sub["format"]) for place, sub in subschemas(schema)
            if isinstance(sub.get("format"), str) and sub["format"] not in checked]
