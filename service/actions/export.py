"""Exports for the staff: the records as xlsx / CSV / JSON and the consolidated 推荐名单汇总表. The outputs write the
audit entry with the acting user (once); every surface calls this."""

from __future__ import annotations

from collections.abc import Sequence

from service.actions.actor import Actor
from service.actions.intake import IntakeError
from service.forms.catalog import Catalog, catalog
from service.outputs.exports import SUMMARY_STATUSES, consolidated_summary, export_records
from service.store import Store

MEDIA = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
}


def export(store: Store, actor: Actor, campaign_id: str, kind: str, *, form_id: str | None = None,
           statuses: Sequence[str] | None = None, cat: Catalog | None = None) -> tuple[bytes, str, str]:
    """(content, file name, media type). ``kind``: xlsx | csv | json | summary."""
    cat = cat or catalog()
    if not actor.is_staff:
        raise IntakeError("STATE_FORBIDDEN", action="导出数据")
    if campaign_id not in cat.campaigns:
        raise IntakeError("CAMPAIGN_NOT_FOUND", campaign=campaign_id, campaigns="、".join(cat.campaigns))
    if kind == "summary":
        try:
            data = consolidated_summary(store, campaign_id, tuple(statuses or SUMMARY_STATUSES), actor=actor.username)
        except LookupError:
            raise IntakeError("SUMMARY_NOT_AVAILABLE", campaign=campaign_id) from None
        return data, f"{campaign_id}-推荐名单汇总表.xlsx", MEDIA["xlsx"]
    if kind not in MEDIA:
        raise IntakeError("EXPORT_FORMAT", formats="、".join(MEDIA))
    campaign = cat.campaign(campaign_id)
    if form_id is not None and form_id not in campaign.forms:
        raise IntakeError("EXPORT_FORM_REQUIRED", forms="、".join(campaign.forms))
    if kind == "csv" and form_id is None and len(campaign.forms) > 1:
        raise IntakeError("EXPORT_FORM_REQUIRED", forms="、".join(campaign.forms))
    data = export_records(store, campaign_id, kind, tuple(statuses or ("accepted",)), form_id=form_id,
                          actor=actor.username)
    return data, f"{campaign_id}-{form_id or '全部表单'}-报送数据.{kind}", MEDIA[kind]
