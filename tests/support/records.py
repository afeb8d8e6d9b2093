"""Records and documents that tests in several packages build on: a letter with changes, a letter that agrees
with a row of the 汇总表, a record without its empty values, a document's custom properties."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

from lxml import etree

from tests.support.samples import sample

ON_TIME = {"jth-2020": dt.datetime(2020, 11, 20, 9, tzinfo=dt.UTC), "ln-2018": dt.datetime(2018, 6, 1, 9, tzinfo=dt.UTC)}


def clean(value):
    """A record without empty values (a blank cell and a missing key are the same on paper)."""
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items() if v not in ("", None, [])}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def letter(**changes) -> dict:
    record = sample("recommendation_letter")
    record.update(changes)
    return record


def letter_for(row: dict, recommender: str, recommender_type: str, **extra) -> dict:
    """A 推荐书 that agrees with its row of the 汇总表."""
    record = sample("recommendation_letter")
    total = row["member_count"]
    record.update(group_name=row["group_name"], lead_units=row["lead_units"].split("、"), founded=row["founded"],
                  legal_person=row["legal_person"], contact_name=row["contact_name"],
                  contact_phone=row["contact_phone"], recommender=recommender, recommender_type=recommender_type,
                  members_total=total, members_school=total - 3, members_enterprise=1, members_industry=1,
                  members_research=1, members_other=0, **extra)
    return record


def custom_props(content: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(content)) as zf:
        root = etree.fromstring(zf.read("docProps/custom.xml"))
    return {p.get("name"): "".join(p.itertext()) for p in root}
