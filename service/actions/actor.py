"""Who acts: every use case takes the acting person, so that it checks their right once and audits them once,
whatever surface (page, API, CLI, job) the request came through."""

from __future__ import annotations

from dataclasses import dataclass

from service.forms.catalog import catalog


@dataclass(frozen=True)
class Actor:
    username: str
    role: str  # admin | recommender | school | system
    entity_id: str | None = None  # the unit a recommender account acts for

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "system")

    def may_see(self, recommender_id: str) -> bool:
        """Whether the actor may act on this unit's submissions (staff, or the unit itself)."""
        return self.is_staff or (self.role == "recommender" and self.entity_id == recommender_id)

    def supervises(self, campaign_id: str) -> bool:
        """Whether the campaign's data names the actor's unit as a supervisor: it reads every submitting unit's
        status and reports, and changes nothing (辽宁省教育厅 for the 14 groups of ln-2018)."""
        if self.role != "recommender" or not self.entity_id:
            return False
        return self.entity_id in supervisors(campaign_id)

    def may_read(self, campaign_id: str, recommender_id: str) -> bool:
        return self.may_see(recommender_id) or self.supervises(campaign_id)


def supervisors(campaign_id: str) -> set[str]:
    """The units the campaign's data names as supervisors."""
    cat = catalog()
    campaign = cat.campaigns.get(campaign_id)
    return {row["unit"] for row in campaign.data.get("supervisors", [])} if campaign else set()


def supervised_campaigns(entity_id: str | None) -> list[str]:
    return [c.id for c in catalog().campaigns.values()
            if entity_id and entity_id in {row["unit"] for row in c.data.get("supervisors", [])}]


def submitter_label(campaign_id: str) -> str:
    """What the campaign calls the units that send files: 推荐单位 (national) or 报送单位 (Liaoning)."""
    campaign = catalog().campaigns.get(campaign_id)
    return campaign.data.get("submitter_label", "报送单位") if campaign else "报送单位"


SYSTEM = Actor("system", "system")
