"""Reference lists as the rules match names against them: one name index per list, kept for the process."""

from __future__ import annotations

import functools

from service.forms.catalog import Catalog
from service.forms.names import NameIndex


@functools.lru_cache(maxsize=64)
def name_index(cat: Catalog, source: str) -> NameIndex:
    """The name index of reference list ``source`` (the catalogue does not change while the process runs)."""
    return NameIndex(cat.entities(source))


def entity_name(cat: Catalog, source: str, entity_id: str) -> str:
    """The name of entity ``entity_id`` in list ``source``, or the id itself when the list does not have it."""
    try:
        return cat.entity(source, entity_id)["name"]
    except LookupError:
        return entity_id
