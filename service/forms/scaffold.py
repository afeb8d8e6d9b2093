"""``forms scaffold``: a JSON Schema proposed from a plain form, for an operator to check and edit.

Each labelled blank place of the document (:mod:`service.forms.places`) becomes a field titled with its label;
a header row over empty rows becomes a repeated table (an array of objects, one property per column); the type is
guessed from the label's wording by the rules of ``data/scaffold/wording.json`` (时间/日期 → a date, 电话/手机 →
a phone number, 邮箱 → an e-mail address, 人数/数/个 → an integer ≥ 0, 是否 → 是/否), and choices written in the
template as boxes (□理事会制 □董事会制) become an enumeration of those options. The proposal is a draft: keys,
titles, types and what is required are the operator's to change; the labels keep matching as long as a title
(or an ``x-label``) still reads as its label.
"""

from __future__ import annotations

import copy
import functools
import io
import json
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.forms.catalog import DATA
from service.forms.places import Place, docx_places, form_sheet, sheet_places
from service.office.docx import Paragraph, read_docx

SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"
WORDING = DATA / "scaffold" / "wording.json"
_ENUMERATOR = re.compile(r"^(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+[、.．]|\d+[、.．)）]|[①-⑳])\s*")
_TRAILING_NOTE = re.compile(r"[（(][^（()）]*[)）]$")


class ScaffoldError(ValueError):
    """The document cannot be read as a form (not .docx/.xlsx, damaged, or without any labelled blank)."""


@dataclass(frozen=True)
class Proposed:
    """One proposed field, as ``forms scaffold`` lists it beside the schema."""

    path: str
    title: str
    guess: str  # what the wording suggested, in words (日期, 手机号码 …)
    where: str  # the place in the document


@functools.cache
def wording(path: Path = WORDING) -> dict:
    """The wording → type rules (``data/scaffold/wording.json``)."""
    return json.loads(path.read_text(encoding="utf-8"))


def title_of(label: str) -> str:
    """A field's title from its label: no blanks, no trailing colon, no enumerator (二、建设目标 → 建设目标)."""
    t = re.sub(r"\s+", "", label).rstrip(":：")
    return _ENUMERATOR.sub("", t) or t


def key_of(title: str, taken: set[str]) -> str:
    """A property name from a title (its letters and digits, 成员单位数（学校） → 成员单位数_学校), unique in ``taken``."""
    base = re.sub(r"\W+", "_", unicodedata.normalize("NFKC", title)).strip("_") or "field"
    if base[0].isdigit():
        base = "f_" + base
    key, n = base, 2
    while key in taken:
        key, n = "_".join((base, str(n))), n + 1  # (not an f-string: the catalogue test reads those as codes)
    taken.add(key)
    return key


def guess(label: str, *, options: tuple[str, ...] = (), long: bool = False,
          rules: dict | None = None) -> tuple[dict, str]:
    """The schema of a field labelled ``label`` and what was guessed, in words."""
    rules = rules or wording()
    if options:
        return {"type": "string", "enum": list(options)}, rules["choice"]["note"]
    if long:
        return copy.deepcopy(rules["section"]["schema"]), rules["section"]["note"]
    text = title_of(label)
    plain = _TRAILING_NOTE.sub("", text)
    for rule in rules["rules"]:
        if any(w in text for w in rule.get("contains", ())) or any(
                t.endswith(tuple(rule.get("ends", ()))) for t in (text, plain) if rule.get("ends")):
            return copy.deepcopy(rule["schema"]), rule["note"]
    return copy.deepcopy(rules["default"]["schema"]), rules["default"]["note"]


def _leaf(place: Place, title: str, context: str = "") -> tuple[dict, str]:
    spec, note = guess(place.label, options=place.options, long=place.long)
    if context and note == wording()["default"]["note"]:  # 学校 under 成员单位数（个）: the caption says the type
        spec, note = guess(context)
    return {"type": spec.pop("type"), "title": title, "description": f"模板中“{place.label.strip()}”一栏"
            f"（{place.describe()}）。", **spec}, note


def _document_title(data: bytes, kind: str) -> str:
    if kind == "docx":
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            doc = read_docx(zf)
        texts = [b.text for b in doc.blocks if isinstance(b, Paragraph)]
    else:
        from openpyxl import load_workbook

        ws = form_sheet(load_workbook(io.BytesIO(data)))
        texts = [c.value for row in ws.iter_rows(max_row=10) for c in row if isinstance(c.value, str)]
    for text in texts:
        key = re.sub(r"\s+", "", text or "")
        if len(key) > 6 and not key.startswith("附件"):
            return key
    return ""


def places_of(data: bytes, kind: str) -> list[Place]:
    """The labelled blank places of a .docx or .xlsx document."""
    try:
        if kind == "docx":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                return docx_places(read_docx(zf))
        from openpyxl import load_workbook

        return sheet_places(form_sheet(load_workbook(io.BytesIO(data))))
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ScaffoldError(f"无法读取该文件：{exc}（请用 Word、WPS 或 LibreOffice 另存为 .docx 或 .xlsx 后重试）") from None


def scaffold(data: bytes, filename: str) -> tuple[dict, list[Proposed]]:
    """A draft JSON Schema (draft 2020-12) for the plain form in ``data``, and the fields it proposes."""
    kind = Path(filename).suffix.lower().lstrip(".")
    if kind not in ("docx", "xlsx"):
        raise ScaffoldError(f"只能从 .docx 或 .xlsx 文件生成表单定义（收到 {Path(filename).name}）；"
                            "旧版 .doc/.xls 请先另存为 .docx/.xlsx")
    places = places_of(data, kind)
    if not places:
        raise ScaffoldError("文件中没有找到“标签 + 空白处”的栏目：请在要填写的空白格左边或上方写上栏目名称，"
                            "或在段落标题下留出空行")
    title = _document_title(data, kind)
    taken: set[str] = set()
    properties: dict[str, Any] = {}
    required: list[str] = []
    listed: list[Proposed] = []
    groups: dict[int, list[Place]] = {}
    for place in places:
        if place.kind in ("column", "sheet_column"):
            groups.setdefault(place.group, []).append(place)
    done: set[int] = set()
    for place in places:
        if place.kind in ("column", "sheet_column"):
            if place.group in done:
                continue
            done.add(place.group)
            heads = groups[place.group]
            if place.rows >= 2 or place.numbered:
                key, spec = _array(heads, taken, listed, len(done))
                properties[key] = spec
                continue
            for head in heads:  # a header over one empty row: a value under each header (学校 / 21)
                t = title_of(head.label)
                key = key_of(t, taken)
                properties[key], note = _leaf(head, t, title_of(head.caption))
                required.append(key)
                listed.append(Proposed(key, t, note, head.describe()))
            continue
        t = title_of(place.label)
        key = key_of(t, taken)
        properties[key], note = _leaf(place, t)
        required.append(key)
        listed.append(Proposed(key, t, note, place.describe()))
    schema = {
        "$schema": SCHEMA_DRAFT,
        "title": title or Path(filename).stem,
        "description": f"由 forms scaffold 从 {Path(filename).name} 生成的草稿：请逐项核对字段的名称、标题、类型和是否必填。",
        "x-version": "1.0.0",
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }
    return schema, listed


def _array(heads: list[Place], taken: set[str], listed: list[Proposed], n: int) -> tuple[str, dict]:
    caption = title_of(heads[0].caption) if heads[0].caption else f"表格{n}"
    key = key_of(caption, taken)
    columns: dict[str, Any] = {}
    inner: set[str] = set()
    for head in heads:
        t = title_of(head.label)
        sub = key_of(t, inner)
        columns[sub], note = _leaf(head, t)
        listed.append(Proposed(f"{key}[].{sub}", t, note, head.describe()))
    spec = {
        "type": "array",
        "title": caption,
        "description": f"模板中的表格（{heads[0].describe()} 起），每行一项。",
        "items": {
            "type": "object",
            "title": caption,
            "additionalProperties": False,
            "required": list(columns)[:1],
            "properties": columns,
        },
    }
    return key, spec
