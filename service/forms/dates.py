"""Dates as records keep them and as documents write them.

A record keeps ISO 8601: a day ``2020-11-18``, a month ``2009-06`` (a field whose schema pattern allows a month,
such as 成立时间 or 印发日期, may hold either). Everything a person reads — a generated form, an export, the
consolidated 汇总表, a comment in a marked copy — writes a date as official documents do: ``2020年11月18日``,
``2009年6月``, without zero padding. :func:`official_date` is that one conversion; every writer calls it (through
:func:`shown_record` and :func:`shown_value` when it has a form's fields).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from service.forms.fields import Field

_ISO = re.compile(r"(\d{4})-(\d{2})(?:-(\d{2}))?")
DATE_FORMATS = ("date", "month")  # Field.format of a day, and of a month or a day


def official_date(value: Any) -> Any:
    """``2020-11-18`` → ``2020年11月18日``, ``2009-06`` → ``2009年6月``, a ``date`` likewise (a ``datetime`` gives
    its own calendar day: convert it to the time zone meant first). Anything else is returned as it is, so a
    value that is not an ISO date is shown as typed rather than lost."""
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, dt.date):
        return f"{value.year}年{value.month}月{value.day}日"
    if not isinstance(value, str):
        return value
    m = _ISO.fullmatch(value.strip())
    if not m or not 1 <= int(m.group(2)) <= 12:
        return value
    year, month = int(m.group(1)), int(m.group(2))
    if m.group(3) is None:
        return f"{year}年{month}月"
    return f"{year}年{month}月{int(m.group(3))}日"


def is_date(field_: Field) -> bool:
    """Whether the field holds a date (a day, or a month or a day)."""
    return field_.format in DATE_FORMATS


def shown_value(field_: Field, value: Any) -> Any:
    """``value`` of ``field_`` as a person reads it: a date field's ISO value written the official way."""
    return official_date(value) if is_date(field_) else value


def shown_record(fields: list[Field], record: dict) -> dict:
    """A copy of ``record`` with the values of date fields (top-level and in repeated tables) written the official
    way; the record itself is not changed."""
    out = dict(record)
    for f in fields:
        if not is_date(f):
            continue
        if f.array is None:
            if f.path in out:
                out[f.path] = official_date(out[f.path])
            continue
        items = out.get(f.array)
        if isinstance(items, list):
            out[f.array] = [{**item, f.key: official_date(item[f.key])} if isinstance(item, dict) and f.key in item
                            else item for item in items]
    return out
