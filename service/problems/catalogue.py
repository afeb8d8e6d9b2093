"""The catalogue of problem codes, read from ``data/problems.json``: every code with its stage, severity, HTTP
status, Chinese title, message template and how to fix it.

The wording is data so that one file says everything a person can be told, the reference page
(``docs/errors.md``) and the API's list of codes are generated from it, and a new wording needs no code.
A template is ``str.format`` text: ``{name}`` is filled by the caller, ``{fix}`` is where the entry's
how-to-fix text goes, and a phrase name (``{resave}``) is a sentence several entries share. One code may have
variants: the same problem worded for another situation (a value read from a date cell, from a tick box …),
each replacing the message, the fix or both, so clients keep switching on one stable code.
"""

from __future__ import annotations

import functools
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).resolve().parent.parent.parent / "data" / "problems.json"
FIX = "fix"
_ROOT_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class UnknownProblem(LookupError):
    """A code (or a variant of a code) that the catalogue does not hold: a programming error, never a user's."""


@dataclass(frozen=True)
class Stage:
    """A step of the pipeline that problems are grouped by (in the reference page, and for reading)."""

    id: str
    title: str
    description: str


@dataclass(frozen=True)
class Entry:
    """One code as the catalogue describes it."""

    code: str
    stage: str
    severity: str
    http_status: int
    title: str
    message: str | None
    fix: str | None
    variants: Mapping[str, Mapping[str, str]]

    def templates(self, variant: str | None = None) -> tuple[str, str | None]:
        """The message and fix templates of ``variant`` (None: the code's own). A variant inherits what it does
        not replace; a message without ``{fix}`` has no fix (it says what to do in its own words, or nothing)."""
        if variant is None:
            if self.message is None:
                raise UnknownProblem(f"{self.code} has no default wording; give one of: {', '.join(self.variants)}")
            message, fix = self.message, self.fix
        elif variant not in self.variants:
            raise UnknownProblem(f"{self.code} has no variant {variant!r} (known: {', '.join(self.variants) or '—'})")
        else:
            own = self.variants[variant]
            message, fix = own.get("message", self.message), own.get("fix", self.fix)
            if message is None:
                raise UnknownProblem(f"{self.code}.{variant} has no message")
        return message, fix if FIX in template_names(message) else None

    def fields(self, variant: str | None = None) -> set[str]:
        """The names the caller must fill in for ``variant`` (phrases and the fix are filled from the catalogue)."""
        message, fix = self.templates(variant)
        names = template_names(message) | (template_names(fix) if fix is not None else set())
        return names - {FIX} - set(phrases())

    def text(self, variant: str | None = None, /, **fields: Any) -> str:
        """The message of ``variant`` filled with ``fields``; TypeError when a field is missing or unknown."""
        message, fix = self.templates(variant)
        wanted = self.fields(variant)
        missing, unknown = wanted - fields.keys(), fields.keys() - wanted
        if missing or unknown:
            which = f"{self.code}" + (f".{variant}" if variant else "")
            raise TypeError(f"{which}: missing fields {sorted(missing)}, unknown fields {sorted(unknown)}")
        values = {**phrases(), **fields}
        if fix is not None:
            values[FIX] = fix.format_map(values)
        return message.format_map(values)

    def variant_names(self) -> list[str | None]:
        """Every wording of this code: its own (when it has one), then its variants."""
        return ([None] if self.message is not None else []) + list(self.variants)


def template_names(template: str) -> set[str]:
    """The field names a ``str.format`` template refers to (``{score:.0%}`` → score)."""
    names = set()
    for _literal, name, _spec, _conversion in string.Formatter().parse(template):
        if name is not None:
            match = _ROOT_NAME.match(name)
            names.add(match.group() if match else name)
    return names


@functools.cache
def _data() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


@functools.cache
def _entries() -> dict[str, Entry]:
    return {code: Entry(code, spec["stage"], spec["severity"], spec["http_status"], spec["title"],
                        spec.get("message"), spec.get("fix"), spec.get("variants", {}))
            for code, spec in _data()["problems"].items()}


def phrases() -> dict[str, str]:
    """Sentences several entries share, by the name their templates use."""
    return _data()["phrases"]


def stages() -> list[Stage]:
    """The stages in pipeline order."""
    return [Stage(s["id"], s["title"], s["description"]) for s in _data()["stages"]]


def entry(code: str) -> Entry:
    """The catalogue's entry for ``code``; UnknownProblem when there is none."""
    try:
        return _entries()[code]
    except KeyError:
        raise UnknownProblem(f"problem code {code!r} is not in {DATA.name}") from None


def entries() -> list[Entry]:
    """Every entry, in the catalogue's order (grouped by stage)."""
    return list(_entries().values())


def codes() -> list[str]:
    """Every code, sorted: the enum of error codes in the API's OpenAPI document."""
    return sorted(_entries())


def message(code: str, variant: str | None = None, /, **fields: Any) -> str:
    """The Chinese text of ``code`` (or its ``variant``) with ``fields`` filled in."""
    return entry(code).text(variant, **fields)


def _file_rejections() -> dict[str, dict[str, Any]]:
    """The codes of the office's file guard with their fixed texts, in the shape it has always used."""
    return {e.code: {"title": e.title, "message": e.text(), "http_status": e.http_status}
            for e in entries() if e.stage == "file"}


#: How to re-save a file, appended by the office's readers to the rejections they word themselves.
FIX_RESAVE: str = phrases()["resave"]

#: The file guard's rejections (``InputRejected``): ``CATALOGUE[code]`` has its title, message and HTTP status.
CATALOGUE: dict[str, dict[str, Any]] = _file_rejections()
