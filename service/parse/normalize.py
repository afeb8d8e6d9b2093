"""Turn the text a person typed into a field's value, or say why it cannot be done with certainty.

Only transformations that keep the meaning exactly are applied silently (full-width digits, 2020年11月23日 →
2020-11-23, a ticked box → its option, a count written 五十 → 50). Anything that would drop or guess
information (约50, a date with a two-digit year, two boxes ticked) comes back flagged with the candidate
value for a person to confirm; text that is simply not of the right kind is passed through unchanged so
that schema validation reports it with a message that says how to fix it.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from service.forms.dates import official_date
from service.forms.fields import Field
from service.office.marks import STRUCK_END, STRUCK_START, UNKNOWN_SYMBOL, CellError

# Marks people use for a ticked or an empty box (Word's ☑/☐, WPS's ■/□, a typed √ or ✓ …).
MARKED = set("☑✓✔√■▣☒⊠●◉✅⬛█🗹🗸⮽🗵⌧")
UNMARKED = set("☐□○◯⬜◻❑")
_STRUCK = re.compile(f"{STRUCK_START}[^{STRUCK_END}]*(?:{STRUCK_END}|$)")
_SPACE = re.compile(r"[ \t\u00a0\u2002-\u200b\u3000]+")
# Chinese (and Japanese) characters, CJK extension planes included; and the punctuation around them.
_IDEOGRAPH = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_PUNCT = "\u2e80-\u2fdf\u3000-\u303f\uff00-\uffef"
_GAP_NEAR_PUNCT = re.compile(rf"(?<=[{_CJK_PUNCT}])[ \n]|[ \n](?=[{_CJK_PUNCT}])")
_GAP_BETWEEN_IDEOGRAPHS = re.compile(rf"(?<=[{_IDEOGRAPH}])[ \n](?=[{_IDEOGRAPH}])")
_LINE_BREAK_ELSEWHERE = re.compile(rf"(?<![{_IDEOGRAPH}])\n|\n(?![{_IDEOGRAPH}])")
_LINE_SEPARATORS = re.compile(r"[\n；;、]+")
SHORT_TEXT = 20  # maxLength of a person's name: blanks inside are alignment, never meaning
_FULLWIDTH_ALNUM = {c: c - 0xFEE0 for c in (*range(0xFF10, 0xFF1A), *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))}
_DASHES = str.maketrans({"—": "-", "–": "-", "－": "-", "‐": "-", "‑": "-", "―": "-", "﹣": "-"})
_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9, "壹": 1, "贰": 2, "叁": 3, "肆": 4, "伍": 5, "陆": 6, "柒": 7,
              "捌": 8, "玖": 9}
_CN_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "万": 10000}
_COUNT_UNITS = "个家所人名项位"
NARRATIVE_MIN_LENGTH = 500


@dataclass
class Normalized:
    """A field's value as read: ``value`` (None when empty or uncertain), and when uncertain the reason."""

    value: Any = None
    note: str = ""  # an exact reformatting the person may want to know about
    flag: str = ""  # a problem code when the value needs a person's confirmation, worded by the catalogue with:
    variant: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    candidates: list[Any] = field(default_factory=list)


def fullwidth_alnum(text: str) -> str:
    """Full-width digits and Latin letters to ASCII; full-width punctuation such as （） stays as typed."""
    return text.translate(_FULLWIDTH_ALNUM)


def clean_lines(text: str) -> list[str]:
    """Lines with surrounding blanks removed and empty lines at either end dropped."""
    lines = [_SPACE.sub(" ", line).strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _gaps(text: str) -> str:
    """The text on one line: blanks collapsed, blanks beside Chinese punctuation dropped, line breaks kept as \\n
    only where they separate two Chinese characters (elsewhere a space), so that the callers can decide."""
    joined = "\n".join(line for line in clean_lines(fullwidth_alnum(text)) if line)
    joined = _GAP_NEAR_PUNCT.sub("", joined)
    return _LINE_BREAK_ELSEWHERE.sub(" ", joined)


def clean_inline(text: str) -> str:
    """A one-line value with every blank or line break between two Chinese characters removed.

    Only for values where such a gap cannot mean anything (a person's name padded for alignment); elsewhere
    :func:`_inline` decides.
    """
    return _GAP_BETWEEN_IDEOGRAPHS.sub("", _gaps(text))


def _inline(field_: Field, text: str) -> Normalized:
    """A one-line text value. A blank or line break between two Chinese characters may be padding, a wrapped
    name, or a separator between two names: only a short value (a person's name) is joined without asking, a
    field holding several names takes a line break as its separator, anything else goes to a person."""
    gapped = _gaps(text)
    gaps = set(_GAP_BETWEEN_IDEOGRAPHS.findall(gapped))
    joined = _GAP_BETWEEN_IDEOGRAPHS.sub("", gapped)
    if not gaps:
        return Normalized(value=joined or None)
    typed = text.strip()
    if (field_.max_length or 0) <= SHORT_TEXT:
        return Normalized(value=joined, note=f"“{typed}”按“{joined}”读取（去掉了字间空格）")
    if field_.separator:
        by_lines = _GAP_BETWEEN_IDEOGRAPHS.sub(lambda m: field_.separator if m.group() == "\n" else m.group(), gapped)
        if "\n" in gaps and " " not in gaps:
            return Normalized(value=by_lines, note=f"分行填写的多个名称按“{by_lines}”读取")
        candidates = [joined, _GAP_BETWEEN_IDEOGRAPHS.sub(field_.separator, gapped)]
        return Normalized(flag="FIELD_UNCERTAIN", variant="one_or_several", candidates=candidates,
                          details={"typed": typed, "separator": field_.separator})
    return Normalized(flag="FIELD_UNCERTAIN", variant="gap_in_name", candidates=[joined], details={"typed": typed})


def _lines(text: str) -> Normalized:
    """A list typed one item per line (or separated by ；、): an item with a blank inside is asked about."""
    items = [_gaps(x) for x in _LINE_SEPARATORS.split(text)]
    items = [x for x in items if x]
    if not items:
        return Normalized()
    joined = [_GAP_BETWEEN_IDEOGRAPHS.sub("", x) for x in items]
    if joined == items:
        return Normalized(value=items)
    split = [part for x in items for part in _GAP_BETWEEN_IDEOGRAPHS.split(x) if part]
    return Normalized(flag="FIELD_UNCERTAIN", variant="gap_in_item", candidates=[joined, split])


def clean_narrative(text: str) -> str:
    """Prose: each paragraph as written, without the indentation blanks and trailing spaces around it."""
    lines = [line.strip(" \t\u00a0\u3000") for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _ascii(text: str) -> str:
    return _SPACE.sub("", unicodedata.normalize("NFKC", text).translate(_DASHES)).strip()


def cn_number(text: str) -> int | None:
    """五十 → 50, 一百零三 → 103, 一百二 → 120, 二〇二〇 → 2020 (digit by digit); None for anything else."""
    if not text or any(c not in _CN_DIGITS and c not in _CN_UNITS for c in text):
        return None
    if not any(c in _CN_UNITS for c in text):
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    total, section, digit = 0, 0, None
    for c in text:
        if c in _CN_DIGITS:
            digit = _CN_DIGITS[c]
        else:
            unit = _CN_UNITS[c]
            if unit == 10000:
                total += (section + (digit or 0)) * unit
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * unit
                digit = None
    if digit is not None and len(text) > 1 and _CN_UNITS.get(text[-2], 0) >= 100:
        digit *= _CN_UNITS[text[-2]] // 10  # 一百二 is 120 and 两千五 2500 (102 would be 一百零二)
    return total + section + (digit or 0)


# ---- dates ------------------------------------------------------------------------------------------------

_DATE_NUMERIC = re.compile(r"^(\d{2,4})[-./年](\d{1,2})(?:[-./月](\d{1,2})日?|月)?$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})?$")
_DATE_CN = re.compile(r"^([〇零○Ｏ一二三四五六七八九]{4})年([一二三四五六七八九十]{1,3})月(?:([一二三四五六七八九十]{1,3})日)?$")


def parse_date(text: str) -> tuple[int, int, int | None] | str | None:
    """(year, month, day or None) from the ways dates are written; 'two-digit' for 20.11.23; None if not a date."""
    t = _ascii(text)
    m = _DATE_NUMERIC.match(t) or _DATE_COMPACT.match(t)
    if m:
        year, month, day = m.group(1), int(m.group(2)), int(m.group(3)) if m.group(3) else None
        if len(year) != 4:
            return "two-digit"
        return int(year), month, day
    m = _DATE_CN.match(t)
    if m:
        day = cn_number(m.group(3)) if m.group(3) else None
        return cn_number(m.group(1)) or 0, cn_number(m.group(2)) or 0, day
    return None


def _valid(year: int, month: int, day: int | None) -> bool:
    try:
        dt.date(year, month, day or 1)
    except ValueError:
        return False
    return 1900 <= year <= 2100


def _normalize_date(text: str, month_allowed: bool) -> Normalized:
    parsed = parse_date(text)
    if parsed == "two-digit":
        return Normalized(flag="FIELD_UNCERTAIN", variant="two_digit_year")
    if parsed is None or isinstance(parsed, str):
        return Normalized(value=text)
    year, month, day = parsed
    if not _valid(year, month, day):
        return Normalized(value=text)
    if day is None:
        if not month_allowed:
            return Normalized(value=text)
        value = f"{year:04d}-{month:02d}"
    else:
        value = f"{year:04d}-{month:02d}-{day:02d}"
    # Written as the record keeps it, or as official documents (and our own forms) write it: nothing to tell.
    note = "" if text in (value, official_date(value)) else f"“{text}”按 {value} 读取"
    return Normalized(value=value, note=note)


def _from_cell(field_: Field, raw: Any) -> Normalized | None:
    """Typed cell values from a spreadsheet reader (numbers, dates) before any text handling."""
    if isinstance(raw, CellError):
        return Normalized(flag="FIELD_FORMULA_ERROR", details={"value": str(raw)})
    if isinstance(raw, bool):
        return Normalized(value=str(raw))
    if isinstance(raw, dt.datetime):
        if raw.time() != dt.time(0):
            return Normalized(flag="FIELD_UNCERTAIN", variant="date_and_time", candidates=[raw.isoformat()])
        raw = raw.date()
    if isinstance(raw, dt.date):
        if field_.format == "month" and raw.day == 1:
            # A date cell holds a day even when only 2012-05 was typed; which was meant cannot be known.
            month = raw.strftime("%Y-%m")
            return Normalized(flag="FIELD_UNCERTAIN", variant="month_or_day", candidates=[month, raw.isoformat()],
                              details={"date": raw.isoformat(), "month": month})
        return Normalized(value=raw.isoformat())
    if isinstance(raw, float):
        if raw.is_integer() and abs(raw) < 1e15:
            raw = int(raw)
        elif field_.format in ("date", "month") and re.fullmatch(r"\d{4}\.1", repr(raw)):
            # 2012.10 typed into a number cell is stored as 2012.1: October and January look the same.
            year = repr(raw)[:4]
            return Normalized(flag="FIELD_UNCERTAIN", variant="october_or_january",
                              candidates=[f"{year}-10", f"{year}-01"], details={"number": repr(raw), "year": year})
        else:
            return Normalized(value=repr(raw) if field_.type != "integer" else raw)
    if isinstance(raw, int):
        return Normalized(value=raw if field_.type == "integer" else str(raw))
    return None


# ---- choices ----------------------------------------------------------------------------------------------


def read_choice(text: str, options: tuple[str, ...]) -> Normalized:
    """Which option is ticked in “☑是　☐否”, “√是 否”, “是√ 否”, “■理事会制 □董事会制”, or simply “是”."""
    spaced = _SPACE.sub(" ", text).strip()
    compact = spaced.replace(" ", "")
    if compact in options:
        return Normalized(value=compact)
    positions: list[tuple[int, int, str]] = []
    taken = [False] * len(spaced)
    for option in sorted(options, key=len, reverse=True):
        start = 0
        while (i := spaced.find(option, start)) >= 0:
            if not any(taken[i:i + len(option)]):
                positions.append((i, i + len(option), option))
                for k in range(i, i + len(option)):
                    taken[k] = True
            start = i + 1
    positions.sort()
    found = [p[2] for p in positions]
    if not any(c in MARKED or c in UNMARKED for c in spaced):
        bare = compact
        if len(positions) == 1 and bare == positions[0][2]:
            return Normalized(value=positions[0][2])
        if positions:
            return Normalized(flag="FIELD_UNCERTAIN", variant="choice_unmarked", candidates=found,
                              details={"text": spaced})
        return Normalized(value=spaced)

    def char(i: int) -> str:
        return spaced[i] if 0 <= i < len(spaced) else ""

    # A mark squeezed between two options (是√否) could belong to either.
    for (_s1, e1, _o1), (s2, _e2, _o2) in zip(positions, positions[1:], strict=False):
        if s2 == e1 + 1 and char(e1) in MARKED:
            return Normalized(flag="FIELD_UNCERTAIN", variant="choice_unclear", candidates=found,
                              details={"text": spaced})
    # Box style puts a box before each option (☑是　☐否); a typed tick often follows the option (是√ 否).
    if any(char(s - 1) in MARKED or char(s - 1) in UNMARKED for s, _e, _o in positions):
        ticked = [o for s, _e, o in positions if char(s - 1) in MARKED]
    else:
        ticked = [o for _s, e, o in positions if char(e) in MARKED]
    if len(ticked) == 1:
        return Normalized(value=ticked[0], note=f"按勾选读取为“{ticked[0]}”")
    if not ticked:
        if not any(c in MARKED for c in spaced):
            return Normalized(value=None)  # the boxes as issued: nothing ticked
        return Normalized(flag="FIELD_UNCERTAIN", variant="choice_unclear", candidates=found,
                          details={"text": spaced})
    return Normalized(flag="FIELD_AMBIGUOUS", variant="ticked", candidates=ticked,
                      details={"options": "、".join(ticked)})


# ---- the dispatcher ---------------------------------------------------------------------------------------


def _integer(text: str) -> Normalized:
    t = _ascii(text).replace(",", "")
    core = t.rstrip(_COUNT_UNITS).replace("\u2212", "-")  # a minus sign is read as one: the schema says "≥ 0"
    if re.fullmatch(r"-?\d+", core):
        value = int(core)
        return Normalized(value=value, note="" if str(value) == text.strip() else f"“{text.strip()}”按 {value} 读取")
    number = cn_number(core)
    if number is not None:
        return Normalized(value=number, note=f"“{text.strip()}”按 {number} 读取")
    digits = re.findall(r"\d+", t)
    if digits:
        return Normalized(flag="FIELD_UNCERTAIN", variant="not_an_integer", candidates=[int(d) for d in digits],
                          details={"text": text.strip()})
    return Normalized(value=text.strip())


def _phone(text: str) -> Normalized:
    t = _ascii(text)
    m = re.fullmatch(r"\((0\d{2,3})\)(\d{7,8})", t)
    if m:
        t = f"{m.group(1)}-{m.group(2)}"
    return Normalized(value=t, note="" if t == text.strip() else f"“{text.strip()}”按 {t} 读取")


def _struck(field_: Field, text: str) -> Normalized:
    """Struck-through text: crossed out by hand, or still meant? A person decides, offered both readings."""
    text = text.replace(STRUCK_END + STRUCK_START, "")  # one crossed-out stretch split over several runs
    kept = _STRUCK.sub("", text)
    everything = text.replace(STRUCK_START, "").replace(STRUCK_END, "")
    struck = "、".join(x.strip(STRUCK_START + STRUCK_END) for x in _STRUCK.findall(text) if x.strip(STRUCK_START + STRUCK_END))
    candidates = []
    for reading in (kept, everything):
        norm = normalize(field_, reading) if reading.strip() else Normalized()
        value = norm.value if norm.value is not None and not norm.flag else (reading.strip() or None)
        if value is not None and value not in candidates:
            candidates.append(value)
    return Normalized(flag="FIELD_STRUCK", candidates=candidates, details={"struck": struck[:40]})


def is_narrative(field_: Field) -> bool:
    return field_.type == "string" and (field_.max_length or 0) >= NARRATIVE_MIN_LENGTH


def normalize(field_: Field, raw: Any) -> Normalized:
    """The value of ``field_`` given what was found in the document (text, or a typed spreadsheet value)."""
    if raw is None:
        return Normalized()
    typed = _from_cell(field_, raw)
    if typed is not None:
        if isinstance(typed.value, str) and field_.format in ("date", "month") and not typed.flag:
            return _normalize_date(typed.value, field_.format == "month")
        return typed
    text = str(raw)
    if not text.strip():
        return Normalized()
    if STRUCK_START in text:
        return _struck(field_, text)
    if UNKNOWN_SYMBOL in text:
        return Normalized(flag="FIELD_UNCERTAIN", variant="unknown_symbol",
                          candidates=[text.replace(UNKNOWN_SYMBOL, "").strip()])
    if field_.type == "lines":
        return _lines(text)
    if field_.type == "integer":
        return _integer(text)
    if field_.enum:
        return read_choice(fullwidth_alnum(text), field_.enum)
    if field_.format in ("date", "month"):
        return _normalize_date(_ascii(text), field_.format == "month")
    if field_.format == "email":
        return Normalized(value=_ascii(text))
    if field_.pattern and ("\\d{7,8}" in field_.pattern or "1[3-9]" in field_.pattern):
        return _phone(text)
    if is_narrative(field_):
        return Normalized(value=clean_narrative(text) or None)
    return _inline(field_, text)
