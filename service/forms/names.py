"""Normalization and fuzzy matching of group (集团) names.

The same group is written 辽宁装备制造职业教育集团 in one notice and 辽宁装备制造职教集团 in another;
people type half-width brackets, spaces and the （联盟） suffix inconsistently. Matching compares the
normalized forms; a near miss (one or two characters apart) is reported as a candidate, never merged.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_SPACES = re.compile(r"[\s\u3000]+")
_ALLIANCE = re.compile(r"\(联盟\)$")


def normalize_name(name: str) -> str:
    """A canonical key for a group name: NFKC, no spaces, 职教集团 ≡ 职业教育集团, no （联盟） suffix."""
    text = unicodedata.normalize("NFKC", name or "")
    text = _SPACES.sub("", text)
    text = text.replace("【", "(").replace("】", ")").replace("〔", "(").replace("〕", ")")
    text = text.replace("・", "·").replace("•", "·")
    text = text.replace("职教集团", "职业教育集团").replace("职教联盟", "职业教育联盟")
    text = _ALLIANCE.sub("", text)
    return text


def edit_distance(a: str, b: str, limit: int = 3) -> int:
    """Levenshtein distance, stopping early once it exceeds ``limit`` (names are short)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


@dataclass(frozen=True)
class NameMatch:
    """The result of looking a name up in a reference list."""

    exact: dict | None
    near: tuple[dict, ...] = ()


class NameIndex:
    """Reference rows indexed by normalized name, for exact and near lookups (results memoized)."""

    def __init__(self, rows: list[dict], key: str = "name") -> None:
        self.rows = rows
        self._by_norm = {normalize_name(r[key]): r for r in rows}
        self._chars = {cand: set(cand) for cand in self._by_norm}
        self._key = key
        self._memo: dict[tuple[str, int], NameMatch] = {}

    def match(self, name: str, max_distance: int = 2) -> NameMatch:
        memo_key = (name, max_distance)
        found = self._memo.get(memo_key)
        if found is None:
            found = self._match(name, max_distance)
            if len(self._memo) < 10000:
                self._memo[memo_key] = found
        return found

    def _match(self, name: str, max_distance: int) -> NameMatch:
        norm = normalize_name(name)
        if not norm:
            return NameMatch(None)
        if norm in self._by_norm:
            return NameMatch(self._by_norm[norm])
        chars = set(norm)
        near = []
        for cand, row in self._by_norm.items():
            if min(len(norm), len(cand)) < 6:
                continue
            allowed = _allowed(norm, cand, max_distance)
            # Every distinct character of one name missing from the other costs at least one edit.
            if abs(len(norm) - len(cand)) > allowed or len(chars - self._chars[cand]) > allowed:
                continue
            if edit_distance(norm, cand, allowed) <= allowed:
                near.append(row)
        return NameMatch(None, tuple(near))


_GENERIC_SUFFIX = re.compile(r"(职业教育集团|职业教育联盟|集团|联盟)$")


def _allowed(a: str, b: str, max_distance: int) -> int:
    """Edits allowed between two names: two only when what distinguishes them (the part before 职业教育集团)
    is long enough that two edits still leave most of it; 辽宁第0职业教育集团 is not 辽宁建设职业教育集团."""
    core = min(len(_GENERIC_SUFFIX.sub("", a)), len(_GENERIC_SUFFIX.sub("", b)))
    return min(max_distance, 1 if core < 6 else 2)
