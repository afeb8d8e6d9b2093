"""Form versions: what a version of a form's schema is, and how a change that kept the version number is caught.

A returned file carries the schema version it was issued under (its stamp); a file must be read with the
structure of that version. So a schema that changes what a record is must change ``x-version``: the fingerprint
of a version (a sha256 over what decides a record, annotations and ``x-`` extensions left out) is registered in
the campaign's data (the form's ``versions``), and a schema whose fingerprint differs from the one registered
for its own version is refused at load. An earlier version registered with its own ``schema`` and ``template``
is kept, so a file issued under it can be read with its own layout.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from service.forms.keywords import ANNOTATIONS, ONE_SCHEMA, SCHEMA_LIST, SCHEMA_MAP


def _decisive(schema: Any) -> Any:
    """The schema without what changes no verdict (titles, descriptions, ``$id``, ``x-`` extensions)."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key.startswith("x-") or (key in ANNOTATIONS and key != "$defs"):
            continue
        if key in ONE_SCHEMA:
            out[key] = _decisive(value)
        elif key in SCHEMA_MAP and isinstance(value, dict):
            out[key] = {name: _decisive(sub) for name, sub in value.items()}
        elif key in SCHEMA_LIST and isinstance(value, list):
            out[key] = [_decisive(sub) for sub in value]
        else:
            out[key] = value
    return out


def fingerprint(schema: dict) -> str:
    """``sha256:…`` of what in ``schema`` decides whether a record is valid."""
    text = json.dumps(_decisive(schema), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def next_version(version: str) -> str:
    """The version after ``version`` for a change of the form (``1.0.0`` → ``1.1.0``)."""
    parts = [int(p) if p.isdigit() else 0 for p in (version.split(".") + ["0", "0"])[:3]]
    return f"{parts[0]}.{parts[1] + 1}.0"


def older(version: str, than: str) -> bool:
    """Whether ``version`` comes before ``than`` (numbers compared part by part)."""
    def key(v: str) -> tuple[int, ...]:
        return tuple(int(p) if p.isdigit() else 0 for p in v.split("."))
    return key(version) < key(than)
