"""The form designer's fields: what the editor shows and what the schema becomes.

A draft's fields are a list of plain settings (JSON in the ``form_drafts`` table), one per labelled blank of the
document: ``key`` (ASCII: it names the web form's controls and the Excel defined names), ``title``, ``label`` (the
document's own words, kept as ``x-label`` when the title differs, so the field is still found there), ``kind`` (one of
:data:`KINDS`, or a table with ``columns``), ``required``, ``options`` (a choice's), ``where`` (its place in the
document). :func:`proposed_fields` makes them from ``forms scaffold``'s proposal, :func:`check_fields` says every
mistake at its setting, :func:`build_schema` makes the draft 2020-12 JSON Schema, and :func:`sample_record` /
:func:`read_back` are the preview's sample values and their comparison with what the parser read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from service.forms.catalog import DRAFT_2020_12, Form
from service.problems.catalogue import message

KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
# An Excel defined name may not read as a cell (abc12, r1c1, r, c): the renderer names each field's cell after it.
CELL_LIKE = re.compile(r"[a-z]{1,3}\d+|r\d*c\d*|[rc]")
MAX_TITLE = 200
MOBILE = r"^1[3-9]\d{9}$"
PHONE = r"^((0\d{2,3}-?)?\d{7,8}(-\d{1,6})?|1[3-9]\d{9})$"
TABLE = "table"
TABLE_LABEL = "表格（可逐行填写）"

#: The types a field may have in the designer: label, and the JSON Schema it becomes (a choice adds its options).
KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "text": ("文字", {"type": "string", "maxLength": 200}),
    "paragraph": ("成段文字", {"type": "string", "maxLength": 5000}),
    "date": ("日期", {"type": "string", "format": "date"}),
    "mobile": ("手机号码", {"type": "string", "pattern": MOBILE}),
    "phone": ("电话号码", {"type": "string", "pattern": PHONE}),
    "email": ("电子邮箱", {"type": "string", "format": "email", "maxLength": 100}),
    "integer": ("整数（≥0）", {"type": "integer", "minimum": 0}),
    "yesno": ("是/否", {"type": "string", "enum": ["是", "否"]}),
    "choice": ("单选", {"type": "string"}),
}
#: What each type means, for the page's explanation.
KIND_NOTES = {"text": "200 字以内", "paragraph": "5000 字以内，成段填写", "date": "2021年6月1日、2021-06-01 等写法都能读出",
              "mobile": "11 位手机号码", "phone": "固定电话或手机", "email": "如 name@example.cn",
              "integer": "不小于 0 的整数", "yesno": "是 或 否", "choice": "在“选项”中每行写一个，与表格中的 □ 选项一致"}


@dataclass(frozen=True)
class Mistake:
    """One thing to change before a draft can be saved or published: ``at`` names the field's setting it is about
    (``fields.2.key``, ``fields.4.columns.1.title``, ``title``; "" for the form as a whole)."""

    at: str
    message: str


def kind_of(spec: dict) -> str:
    """The designer's type of a field's schema (as ``forms scaffold`` proposes it)."""
    if spec.get("type") == "array":
        return TABLE
    if spec.get("enum"):
        return "yesno" if list(spec["enum"]) == ["是", "否"] else "choice"
    if spec.get("type") == "integer":
        return "integer"
    if spec.get("format") in ("date", "email"):
        return spec["format"]
    if spec.get("pattern"):
        return "mobile" if spec["pattern"] == MOBILE else "phone"
    return "paragraph" if (spec.get("maxLength") or 0) > KINDS["text"][1]["maxLength"] else "text"


def _item(key: str, spec: dict, where: str) -> dict[str, Any]:
    labels = spec.get("x-label")
    label = labels if isinstance(labels, str) else (labels[0] if labels else spec.get("title", key))
    return {"key": key, "title": spec.get("title", key), "label": label, "kind": kind_of(spec),
            "required": False, "options": list(spec.get("enum", [])) if kind_of(spec) == "choice" else [],
            "where": where}


def _ascii_key(proposed: str, n: int, prefix: str, taken: set[str]) -> str:
    """The scaffold's key when it is a valid one, else ``field_3``, ``col_2`` …: keys name web controls and Excel
    defined names, and rules, exports and the API use them."""
    key = proposed if key_problem(proposed) is None else "%s_%d" % (prefix, n)
    while key in taken:
        n += 1
        key = "%s_%d" % (prefix, n)
    taken.add(key)
    return key


def proposed_fields(schema: dict, where: dict[str, str]) -> list[dict[str, Any]]:
    """The editor's fields from a scaffolded schema (``where``: each path's place in the document)."""
    required = set(schema.get("required", []))
    taken: set[str] = set()
    items: list[dict[str, Any]] = []
    for n, (key, spec) in enumerate(schema.get("properties", {}).items(), start=1):
        if spec.get("type") == "array":
            inner = spec.get("items", {})
            table = _item(_ascii_key(key, n, "table", taken), spec, "")
            table["required"] = key in required or bool(spec.get("minItems"))
            cols, col_taken = [], set()
            for m, (sub, sub_spec) in enumerate(inner.get("properties", {}).items(), start=1):
                col = _item(_ascii_key(sub, m, "col", col_taken), sub_spec, where.get(f"{key}[].{sub}", ""))
                col["required"] = sub in inner.get("required", [])
                cols.append(col)
            table["columns"] = cols
            table["where"] = cols[0]["where"] if cols else ""
            items.append(table)
            continue
        item = _item(_ascii_key(key, n, "field", taken), spec, where.get(key, ""))
        item["required"] = key in required
        items.append(item)
    return items


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a field's key (``pattern`` or ``cell``), or None."""
    if not KEY.fullmatch(key or ""):
        return "pattern"
    if CELL_LIKE.fullmatch(key):
        return "cell"
    return None


def _options(value: Any) -> list[str]:
    if isinstance(value, str):
        value = re.split(r"[\n\r、，,；;]+", value)
    return list(dict.fromkeys(o.strip() for o in value or [] if isinstance(o, str) and o.strip()))


def _where(item: dict, n: int, table: dict | None = None) -> str:
    if table is not None:
        return f"表格“{table.get('title') or table.get('key')}”的第 {n} 列“{item.get('title') or item.get('key')}”"
    return f"第 {n} 个字段“{item.get('title') or item.get('key')}”"


def check_fields(items: list[dict[str, Any]], title: str) -> list[Mistake]:
    """Everything wrong with the edited fields and the form's title, each at its setting, in the editor's order."""
    out: list[Mistake] = []
    if not title.strip():
        out.append(Mistake("title", message("DESIGN_TITLE", where="表单名称")))
    elif len(title) > MAX_TITLE:
        out.append(Mistake("title", message("DESIGN_TITLE", "long", where="表单名称", limit=MAX_TITLE)))
    seen: dict[str, str] = {}
    for i, item in enumerate(items):
        at, where = f"fields.{i}", _where(item, i + 1)
        out += _check_one(item, at, where, seen)
        if item.get("kind") == TABLE:
            if not item.get("columns"):
                out.append(Mistake(f"{at}.kind", message("DESIGN_KIND", where=where, written=TABLE_LABEL,
                                                         known="、".join(v[0] for v in KINDS.values()))))
            inner: dict[str, str] = {}
            for j, col in enumerate(item.get("columns", [])):
                out += _check_one(col, f"{at}.columns.{j}", _where(col, j + 1, item), inner, column=True)
    return out


def _check_one(item: dict, at: str, where: str, seen: dict[str, str], column: bool = False) -> list[Mistake]:
    out = []
    key = str(item.get("key", ""))
    if (why := key_problem(key)) is not None:
        out.append(Mistake(f"{at}.key", message("DESIGN_KEY", why, where=where, written=key)))
    elif key in seen:
        out.append(Mistake(f"{at}.key", message("DESIGN_KEY", "duplicate", where=where, written=key,
                                                other=seen[key])))
    else:
        seen[key] = where
    title = str(item.get("title", "")).strip()
    if not title:
        out.append(Mistake(f"{at}.title", message("DESIGN_TITLE", where=where)))
    elif len(title) > MAX_TITLE:
        out.append(Mistake(f"{at}.title", message("DESIGN_TITLE", "long", where=where, limit=MAX_TITLE)))
    kind = item.get("kind")
    if kind not in KINDS and not (kind == TABLE and not column):
        out.append(Mistake(f"{at}.kind", message("DESIGN_KIND", where=where, written=str(kind),
                                                 known="、".join(v[0] for v in KINDS.values()))))
    elif kind == "choice" and len(_options(item.get("options"))) < 2:
        out.append(Mistake(f"{at}.options", message("DESIGN_OPTIONS", where=where)))
    return out


def _leaf(item: dict) -> dict[str, Any]:
    spec: dict[str, Any] = {"title": item["title"].strip(), **json.loads(json.dumps(KINDS[item["kind"]][1]))}
    if item["kind"] == "choice":
        spec["enum"] = _options(item.get("options"))
    label = str(item.get("label") or "").strip()
    if label and label != spec["title"]:
        spec["x-label"] = label  # the document still says the label: the field is found there
    return spec


def build_schema(items: list[dict[str, Any]], title: str, version: str, filename: str) -> dict[str, Any]:
    """The draft 2020-12 JSON Schema of the edited fields."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for item in items:
        if item["kind"] == TABLE:
            columns = {c["key"]: _leaf(c) for c in item["columns"]}
            spec: dict[str, Any] = {"type": "array", "title": item["title"].strip(), "items": {
                "type": "object", "title": item["title"].strip(), "additionalProperties": False,
                "required": [c["key"] for c in item["columns"] if c.get("required")], "properties": columns}}
            if item.get("required"):
                spec["minItems"] = 1
        else:
            spec = _leaf(item)
        properties[item["key"]] = spec
        if item.get("required"):
            required.append(item["key"])
    return {"$schema": DRAFT_2020_12, "title": title.strip(), "description": f"由表单设计器从 {filename} 生成。",
            "x-version": version, "type": "object", "additionalProperties": False, "required": required,
            "properties": properties}


def clean_items(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The edited fields as kept: known settings only, options as a list, keys and titles stripped."""
    out = []
    for item in items:
        kept = {"key": str(item.get("key", "")).strip(), "title": str(item.get("title", "")).strip(),
                "label": str(item.get("label", "")), "kind": str(item.get("kind", "")),
                "required": bool(item.get("required")), "options": _options(item.get("options")),
                "where": str(item.get("where", ""))}
        if kept["kind"] == TABLE:
            kept["columns"] = clean_items(item.get("columns", []))
        out.append(kept)
    return out


def sample_record(form: Form) -> dict[str, Any]:
    """A distinct, valid sample value for every field (tables: two rows), to render and read back."""
    record: dict[str, Any] = {}
    n = 0
    for f in form.fields:
        for r in range(2 if f.array else 1):
            n += 1
            if f.array:
                record.setdefault(f.array, [{}, {}])[r][f.key] = _sample(f, n)
            else:
                record[f.path] = _sample(f, n)
    return record


def _sample(f: Any, n: int) -> Any:
    if f.enum:
        return f.enum[n % len(f.enum)] if f.array else f.enum[0]
    if f.type == "integer":
        return 10 + n
    if f.format == "date":
        return f"2021-06-{1 + n % 28:02d}"
    if f.format == "email":
        return f"demo{n}@example.com"
    if f.pattern == MOBILE or (f.pattern and f.pattern.startswith("^1[3-9]")):
        return f"1380013{n:04d}"
    if f.pattern:
        return f"010-6{n:07d}"
    if (f.max_length or 0) > KINDS["text"][1]["maxLength"]:
        return f"示例段落{n}：这里是成段填写的内容。"
    return f"示例{n}"


def read_back(form: Form, sample: dict[str, Any], record: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field's sample value beside what the parser read: ``status`` same | missing | different."""
    out = []
    for f in form.fields:
        if f.array:
            wanted = [row.get(f.key) for row in sample.get(f.array, [])]
            got = [row.get(f.key) for row in record.get(f.array, []) if isinstance(row, dict)]
            shown_sample, shown_read = "；".join(map(str, wanted)), "；".join(str(g) for g in got if g is not None)
            status = "same" if got[:len(wanted)] == wanted else ("missing" if not any(got) else "different")
        else:
            wanted, got = sample.get(f.path), record.get(f.path)
            shown_sample, shown_read = str(wanted), "" if got is None else str(got)
            status = "same" if got == wanted else ("missing" if got in (None, "", []) else "different")
        out.append({"path": f.path, "title": f.title, "sample": shown_sample, "read": shown_read, "status": status})
    return out

