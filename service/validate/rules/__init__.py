"""The campaign rules of the notices, run by the rule kinds a campaign configures in its ``rules`` data.

Two layers: :func:`document_rules` checks what one file can show on its own (a late submission, an unknown
recommender, a group on an excluded list, a group not on the eligible list, 字数 over the limit, ranks with gaps,
counts that do not add up, more rows than the quota, and the kinds operators configure for any form: a field
compared with a constant, another field or a date of the campaign, a field required when another has a value,
the number of items in a field); :func:`batch_rules` checks a recommender's files together
(quota, every ranked group has its 推荐书, the 汇总表 and the 推荐书 agree). Each rule family is one module here;
which forms and fields a rule applies to, and how its problems are worded (a rule's ``message``, the campaign's
``messages``), is data, so a new campaign of the same kinds needs no code.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from service.forms.catalog import Campaign, Catalog, Form
from service.forms.names import normalize_name
from service.problems.report import ParseResult
from service.validate.rules import (
    char_limit,
    compare,
    count,
    cross_check,
    deadline,
    eligible,
    excluded,
    quota,
    ranking,
    recommender,
    required_if,
    sums,
)
from service.validate.rules.document import Document

DocumentRule = Callable[[Document, Any], None]
BatchRule = Callable[[list[ParseResult], Catalog, Campaign, Any], None]

#: Rule kind (a key of a campaign's ``rules``) → its check of one document, in the order problems are reported.
DOCUMENT_RULES: tuple[tuple[str, DocumentRule], ...] = (
    ("deadline", deadline.check),
    ("recommender", recommender.check),
    ("excluded_group_fields", excluded.check),
    ("eligible_group_fields", eligible.check),
    ("char_limit", char_limit.check),
    ("ranking", ranking.check),
    ("sums", sums.check),
    ("quota", quota.check_list),
    ("compare", compare.check),
    ("required_if", required_if.check),
    ("count", count.check),
)
#: Kinds every campaign has without naming them in ``rules``: the deadline is the campaign's own, the 字数
#: limit the form's (its ``max_chars`` setting).
BUILT_IN = frozenset({"deadline", "char_limit"})
#: Rule kind → its check over one recommender's files.
BATCH_RULES: tuple[tuple[str, BatchRule], ...] = (
    ("quota", quota.check_letters),
    ("cross_checks", cross_check.check),
)
#: Every kind a campaign's ``rules`` may configure.
RULE_KINDS = frozenset(kind for kind, _ in DOCUMENT_RULES + BATCH_RULES) - BUILT_IN


def document_rules(result: ParseResult, form: Form, cat: Catalog, received: dt.datetime,
                   submitter: str | None = None) -> None:
    """The rules one document can be checked against on its own."""
    campaign = cat.campaign(form.campaign_id)
    configured = campaign.data.get("rules", {})
    doc = Document(result, form, cat, campaign, received, submitter)
    for kind, check in DOCUMENT_RULES:
        if kind in BUILT_IN or configured.get(kind):
            check(doc, configured.get(kind))


def batch_rules(results: list[ParseResult], cat: Catalog) -> None:
    """Rules over all files of each recommender: quota, ranked list ↔ 推荐书, agreement of the figures."""
    groups: dict[tuple[str, str], list[ParseResult]] = defaultdict(list)
    for result in results:
        if not result.readable or not result.campaign:
            continue
        campaign = cat.campaign(result.campaign)
        spec = campaign.data.get("rules", {}).get("recommender")
        if not spec:
            continue
        row = recommender.recommender_of(cat, campaign, result.record)
        name = row["id"] if row else normalize_name(str(result.record.get(spec["name_field"], "")))
        if name:
            groups[(campaign.id, name)].append(result)
    for (campaign_id, _who), files in groups.items():
        campaign = cat.campaign(campaign_id)
        configured = campaign.data.get("rules", {})
        for kind, check in BATCH_RULES:
            if configured.get(kind):
                check(files, cat, campaign, configured[kind])
