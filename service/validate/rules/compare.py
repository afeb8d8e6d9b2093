"""A field compared with a constant, another field or a date of the campaign (rule kind ``compare``): dates (成立
时间不晚于通知印发日期) or numbers (学校成员数不大于成员总数). Each rule in the data names its form, field, ``op``
and one of ``value``, ``other`` or ``campaign_date``, and may word its own ``message``.

A date known to the month (2009-06) stands for every day of it, a year for every day of the year: a rule is
broken only when no day it could be breaks it, so a month is never refused for what a day in it satisfies.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from typing import Any

from service.validate.rules.document import Document, cells, empty, paired, title

_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_YEAR = re.compile(r"(\d{4})")
#: How a broken comparison is said, by what is compared.
RELATION = {
    "date": {"<": "早于", "<=": "不晚于", ">": "晚于", ">=": "不早于", "==": "是", "!=": "不是"},
    "number": {"<": "小于", "<=": "不大于", ">": "大于", ">=": "不小于", "==": "等于", "!=": "不等于"},
}
#: The campaign's dates a rule may compare with (``campaign_date``), as messages name them.
CAMPAIGN_DATES = {"issued": "通知印发日期", "deadline": "截止日期"}

Span = tuple[str, Any, Any]  # (kind, earliest, latest)


def span(value: Any) -> Span | None:
    """What a value can be: a number, or the days a date written to the day, the month or the year covers; None
    when it is neither (the schema reports what is wrongly written)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return ("number", value, value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        if m := _DAY.fullmatch(text):
            day = dt.date(int(m[1]), int(m[2]), int(m[3]))
            return ("date", day, day)
        if m := _MONTH.fullmatch(text):
            year, month = int(m[1]), int(m[2])
            return ("date", dt.date(year, month, 1), dt.date(year, month, calendar.monthrange(year, month)[1]))
        if m := _YEAR.fullmatch(text):
            return ("date", dt.date(int(m[1]), 1, 1), dt.date(int(m[1]), 12, 31))
    except ValueError:
        return None
    return None


def broken(op: str, a: Span, b: Span) -> bool:
    """Whether ``a op b`` is false for every value each side can be."""
    _, alo, ahi = a
    _, blo, bhi = b
    return {"<": alo >= bhi, "<=": alo > bhi, ">": ahi <= blo, ">=": ahi < blo,
            "==": ahi < blo or alo > bhi, "!=": alo == ahi == blo == bhi}[op]


def check(doc: Document, specs: list[dict[str, Any]]) -> None:
    """RULE_COMPARE for each value that breaks a rule of this form, at the field, worded by the rule's message."""
    for spec in specs:
        if spec.get("form") != doc.form.id:
            continue
        for ipath, value, against, limit in _pairs(doc, spec):
            a, b = span(value), span(limit)
            if a is None or b is None or a[0] != b[0] or not broken(spec["op"], a, b):
                continue
            other = title(doc.form, spec["other"]) if "other" in spec else ""
            shown = f"“{other}”（{limit}）" if other else (f"{against}{limit}" if against else str(limit))
            doc.result.add(doc.problem("RULE_COMPARE", own=spec.get("message"), **doc.at(ipath), value=value,
                                       relation=RELATION[a[0]][spec["op"]], against=shown,
                                       more={"limit": limit, "other": other}))


def _pairs(doc: Document, spec: dict[str, Any]) -> list[tuple[str, Any, str, Any]]:
    """(path, value, what it is compared with, the value compared with) for each written value of the field."""
    record, field = doc.record, spec["field"]
    if "other" in spec:
        return [(p, v, "", ov) for p, v, _op, ov in paired(record, field, spec["other"]) if not empty(v)
                and not empty(ov)]
    if "campaign_date" in spec:
        name = spec["campaign_date"]
        constant, against = doc.campaign.data.get(name), CAMPAIGN_DATES[name] + " "
    else:
        constant, against = spec["value"], ""
    return [(p, v, against, constant) for p, v in cells(record, field) if not empty(v)]
