"""The deadline: a file received after the end of the campaign's deadline day goes to a person."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from service.forms.catalog import Campaign
from service.problems.report import problem
from service.validate.rules.document import Document


def deadline_of(campaign: Campaign) -> dt.datetime:
    """The end of the deadline day in the campaign's time zone."""
    day = dt.date.fromisoformat(campaign.data["deadline"])
    tz = ZoneInfo(campaign.data.get("timezone", "Asia/Shanghai"))
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=tz)


def check(doc: Document, _spec: Any = None) -> None:
    """SUBMISSION_LATE, with the days late counted in the campaign's time zone."""
    deadline = deadline_of(doc.campaign)
    if doc.received > deadline:
        days = (doc.received.astimezone(deadline.tzinfo).date() - deadline.date()).days
        doc.result.add(problem("SUBMISSION_LATE", deadline=doc.campaign.data["deadline"], days=days))
