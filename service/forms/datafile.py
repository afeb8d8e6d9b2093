"""Reading the data files (campaigns, reference lists, form schemas) with a Chinese message for every mistake.

An operator edits these files by hand; a mistake in one must say which file, where in it, and what is wrong, in
the words of the file's schema (each property's ``title``, a pattern's ``x-message``), never a traceback or a
regular expression. :class:`DataError` carries the messages of every problem found in one file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from service.problems.catalogue import message

#: JSON types as an operator reads them.
TYPE_WORDS = {"string": "文字（用英文双引号括起来）", "integer": "整数", "number": "数字", "boolean": "true 或 false",
              "object": "一组“名称: 值”（用 { } 括起来）", "array": "列表（用 [ ] 括起来）", "null": "null"}
#: How far one file's problems are listed before the rest are counted.
MAX_LISTED = 10


class DataError(ValueError):
    """Data files that cannot be used as they are: every problem found, each naming its file and its place."""

    def __init__(self, problems: Iterable[str]) -> None:
        self.problems = list(problems)
        shown = self.problems[:MAX_LISTED]
        more = len(self.problems) - len(shown)
        super().__init__("\n".join(shown + ([f"（另有 {more} 处问题未列出）"] if more > 0 else [])))


def shown_path(root: Path, path: Path) -> str:
    """The file as the operator knows it: relative to the installation when it is inside it."""
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def read_json(path: Path, root: Path) -> Any:
    """The content of a JSON data file; DataError when it is missing, not UTF-8 or not JSON (with line and column)."""
    name = shown_path(root, path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError([message("DATA_FILE_MISSING", file=name)]) from None
    except UnicodeDecodeError:
        raise DataError([message("DATA_NOT_JSON", "encoding", file=name)]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError([message("DATA_NOT_JSON", file=name, line=exc.lineno, column=exc.colno)]) from None


def place(steps: Iterable[Any], schema: dict | None = None) -> str:
    """A place in a data file, in its own keys and in the titles its schema gives them:
    ``forms[0].template（表单 → 第 1 项 → 模板文件）``."""
    keys, titles, titled = "", [], False
    spec: Any = schema
    for step in steps:
        if isinstance(step, int):
            keys += f"[{step}]"
            titles.append(f"第 {step + 1} 项")
            spec = spec.get("items") if isinstance(spec, dict) else None
            continue
        keys += f".{step}" if keys else str(step)
        sub = None
        if isinstance(spec, dict):
            sub = spec.get("properties", {}).get(step)
            if sub is None and isinstance(spec.get("additionalProperties"), dict):
                sub = spec["additionalProperties"]
        title = sub.get("title") if isinstance(sub, dict) else None
        titled = titled or bool(title)
        titles.append(title or str(step))
        spec = sub
    if not keys:
        return "文件的最外层"
    return f"{keys}（{' → '.join(titles)}）" if titled else keys


def _title_of(schema: dict, name: str) -> str:
    spec = schema.get("properties", {}).get(name, {}) if isinstance(schema, dict) else {}
    return f"{spec['title']}（{name}）" if isinstance(spec, dict) and spec.get("title") else name


def schema_problem(file: str, error: ValidationError, root_schema: dict) -> str:
    """One schema error in a data file, in Chinese: the file, the place, what is wrong and how it should be."""
    at = place(error.absolute_path, root_schema)
    spec = error.schema if isinstance(error.schema, dict) else {}
    keyword, value = str(error.validator), error.validator_value
    own = spec.get("x-message")
    if own and keyword in ("pattern", "format", "enum", "const", "anyOf", "oneOf", "not", "minLength", "maxLength",
                           "minItems", "maxItems"):
        return message("DATA_INVALID", "explained", file=file, place=at, explained=own)
    if keyword == "required":
        missing = next((name for name in value if isinstance(error.instance, dict) and name not in error.instance),
                       "")
        return message("DATA_INVALID", "required", file=file, place=at, name=_title_of(spec, missing))
    if keyword == "type":
        wanted = value if isinstance(value, list) else [value]
        return message("DATA_INVALID", "type", file=file, place=at,
                       expected="或".join(TYPE_WORDS.get(t, t) for t in wanted))
    if keyword in ("enum", "const"):
        options = value if keyword == "enum" else [value]
        return message("DATA_INVALID", "enum", file=file, place=at, written=json.dumps(error.instance,
                       ensure_ascii=False)[:80], options="、".join(json.dumps(o, ensure_ascii=False) for o in options))
    if keyword in ("additionalProperties", "unevaluatedProperties") and isinstance(error.instance, dict):
        known = set(spec.get("properties", {}))
        extra = [k for k in error.instance if k not in known and repr(k) in error.message] or [
            k for k in error.instance if k not in known]
        allowed = "、".join(spec.get("properties", {})) or "（无）"
        return message("DATA_INVALID", "unknown", file=file, place=at, names="、".join(extra), allowed=allowed)
    if keyword == "format" and value == "date":
        return message("DATA_INVALID", "date", file=file, place=at, written=str(error.instance)[:40])
    if keyword == "pattern":
        return message("DATA_INVALID", "pattern", file=file, place=at, written=str(error.instance)[:80])
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        variant = "minimum" if "inimum" in keyword else "maximum"
        return message("DATA_INVALID", variant, file=file, place=at, limit=value)
    if keyword in ("minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"):
        variant = "too_few" if keyword.startswith("min") else "too_many"
        return message("DATA_INVALID", variant, file=file, place=at, limit=value)
    return message("DATA_INVALID", "other", file=file, place=at, keyword=keyword)


def checked(path: Path, root: Path, validator: Draft202012Validator) -> Any:
    """A data file's content; DataError naming the file and each place where it breaks its schema."""
    doc = read_json(path, root)
    name = shown_path(root, path)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise DataError(schema_problem(name, e, validator.schema) for e in errors)
    return doc
