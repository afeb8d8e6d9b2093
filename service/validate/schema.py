"""Schema checks of a record with Chinese messages, shared by the API and the CLI before rendering.

A partial record is fine for prefilling (missing required fields are the person's job to fill in), so
``partial=True`` ignores ``required``; every other problem is reported, all at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.forms.catalog import Form


@dataclass(frozen=True)
class FieldProblem:
    """One schema problem: where, which field, what rule, and what to do."""

    path: str
    title: str
    code: str
    message: str


_CODES = {
    "required": ("FIELD_REQUIRED", "必须填写"),
    "type": ("FIELD_TYPE", "应填写{expected}"),
    "enum": ("FIELD_ENUM", "只能填写以下选项之一：{options}"),
    "pattern": ("FIELD_PATTERN", "格式不正确：{description}"),
    "format": ("FIELD_FORMAT", "格式不正确：{description}"),
    "maxLength": ("FIELD_TOO_LONG", "超出长度限制（最多 {limit} 字）"),
    "minLength": ("FIELD_TOO_SHORT", "内容过短"),
    "minimum": ("FIELD_RANGE", "数值不能小于 {limit}"),
    "maxItems": ("FIELD_TOO_MANY", "最多 {limit} 项"),
    "minItems": ("FIELD_TOO_FEW", "至少 {limit} 项"),
    "additionalProperties": ("FIELD_UNKNOWN", "表单中没有这个字段"),
}


_EXPECTED = {"integer": "整数（阿拉伯数字，如 12）", "string": "文字", "array": "一项或多项内容", "object": "表格行"}


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
        code, template = _CODES.get(str(err.validator), ("FIELD_INVALID", "不符合要求"))
        spec = err.schema if isinstance(err.schema, dict) else {}
        msg = template.format(
            options="、".join(map(str, spec.get("enum", []))),
            description=spec.get("description", ""),
            limit=err.validator_value,
            expected=_EXPECTED.get(str(err.validator_value), "正确类型的内容"),
        )
        out.append(FieldProblem(dotted, title, code, f"“{title}”{msg}"))
    return out
