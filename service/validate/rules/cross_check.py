"""Rules across one recommender's files (rule kind ``cross_checks``): each group on its ranked list has exactly one
letter, each letter's group is on the list, and what the list says of a group agrees with the group's letter.

A mismatch is reported on both files, each at its own field, so whichever file is fixed the other still shows
why. Names are compared as :func:`normalize_name` does; lists written with 、 or ； compare as sets.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from service.forms.catalog import Campaign, Catalog
from service.forms.names import normalize_name
from service.problems.report import ParseResult
from service.validate.rules.document import campaign_problem, title, where


def _same(a: Any, b: Any) -> bool:
    def norm(v: Any) -> set[str]:
        items = v if isinstance(v, list) else str(v).replace("；", "、").replace(";", "、").split("、")
        return {normalize_name(str(x)) for x in items if str(x).strip()}
    if isinstance(a, int) or isinstance(b, int):
        return str(a) == str(b)
    return norm(a) == norm(b)


def check(files: list[ParseResult], cat: Catalog, campaign: Campaign, checks: list[dict[str, Any]]) -> None:
    """Each configured cross-check over one recommender's files."""
    for spec in checks:
        _cross_check(files, campaign, spec)


def _cross_check(files: list[ParseResult], campaign: Campaign, check: dict[str, Any]) -> None:
    """DUPLICATE_SUBMISSION, LIST_MISSING, RANK_NO_LETTER, CROSS_FORM_MISMATCH (on both files), LETTER_NOT_RANKED."""
    lists = [f for f in files if f.form == check["list_form"]]
    items = [f for f in files if f.form == check["item_form"]]
    list_key, item_key = check["match"]
    list_form = campaign.forms[check["list_form"]]
    item_form = campaign.forms[check["item_form"]]
    by_name: dict[str, list[ParseResult]] = defaultdict(list)
    for f in items:
        if f.record.get(item_key):
            by_name[normalize_name(str(f.record[item_key]))].append(f)
    for dupes in by_name.values():
        if len(dupes) > 1:
            for f in dupes:
                f.add(campaign_problem(campaign, "DUPLICATE_SUBMISSION", group=f.record.get(item_key),
                                       count=len(dupes), form=item_form.title,
                                       files="、".join(d.file for d in dupes)))
    if not lists:
        for f in items:
            f.add(campaign_problem(campaign, "LIST_MISSING", form=list_form.title))
        return
    ranked: set[str] = set()
    for lst in lists:
        for i, row in enumerate(lst.record.get(check["list"]) or []):
            if not row.get(list_key):
                continue
            name = normalize_name(str(row[list_key]))
            ranked.add(name)
            letters = by_name.get(name, [])
            ipath = f"{check['list']}.{i}.{list_key}"
            if not letters:
                lst.add(campaign_problem(campaign, "RANK_NO_LETTER", path=ipath, title=title(list_form, ipath),
                                         where=where(lst, ipath), row=i + 1, group=row[list_key],
                                         form=item_form.title))
                continue
            for letter in letters:
                for list_field, item_fields in check.get("agree", []):
                    a = row.get(list_field)
                    options = item_fields.split("|")
                    values = [letter.record.get(k) for k in options if letter.record.get(k) not in (None, "")]
                    if a in (None, "") or not values or any(_same(a, b) for b in values):
                        continue
                    lpath = f"{check['list']}.{i}.{list_field}"
                    ltitle, ititle = title(list_form, lpath), title(item_form, options[0])
                    b = values[0]
                    shown = "、".join(b) if isinstance(b, list) else b
                    said = {"group": row[list_key], "item": ltitle, "listed": a, "file": letter.file, "written": shown}
                    lst.add(campaign_problem(campaign, "CROSS_FORM_MISMATCH", path=lpath, title=ltitle,
                                             where=where(lst, lpath), **said))
                    letter.add(campaign_problem(campaign, "CROSS_FORM_MISMATCH", path=options[0], title=ititle,
                                                where=where(letter, options[0]), **said))
    for name, letters in by_name.items():
        if name not in ranked:
            for f in letters:
                f.add(campaign_problem(campaign, "LETTER_NOT_RANKED", path=item_key,
                                       title=title(item_form, item_key), where=where(f, item_key),
                                       group=f.record.get(item_key), form=list_form.title))
