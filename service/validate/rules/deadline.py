"""The deadline: a file received after the end of the campaign's deadline day goes to a person."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from service.forms.catalog import Campaign
from service.validate.rules.document import Document


def deadline_of(campaign: Campaign, submitter: str | None = None) -> dt.datetime:
    """The end of the deadline day in the campaign's time zone, extended for everyone or for ``submitter`` by the
    campaign's ``deadline_extensions`` (data: ``[{"until": "2020-11-30", "units": ["edu-bj"], "reason": …}]``,
    no ``units`` meaning every unit); the latest extension that applies wins."""
    day = dt.date.fromisoformat(deadline_day(campaign, submitter))
    tz = ZoneInfo(campaign.data.get("timezone", "Asia/Shanghai"))
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=tz)


def deadline_day(campaign: Campaign, submitter: str | None = None) -> str:
    """The ISO day a unit's files are due (the campaign's deadline or an extension that covers the unit)."""
    day = campaign.data["deadline"]
    for ext in campaign.data.get("deadline_extensions", []):
        units = ext.get("units")
        if (not units or submitter in units) and ext["until"] > day:
            day = ext["until"]
    return day


def check(doc: Document, _spec: Any = None) -> None:
    """SUBMISSION_LATE, with the days late counted in the campaign's time zone (after any extension)."""
    deadline = deadline_of(doc.campaign, doc.submitter)
    if doc.received > deadline:
        days = (doc.received.astimezone(deadline.tzinfo).date() - deadline.date()).days
        doc.result.add(doc.problem("SUBMISSION_LATE", deadline=deadline_day(doc.campaign, doc.submitter), days=days))
