"""Who acts: every use case takes the acting person, so that it checks their right once and audits them once,
whatever surface (page, API, CLI, job) the request came through."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    username: str
    role: str  # admin | recommender | school | system
    entity_id: str | None = None  # the unit a recommender account acts for

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "system")

    def may_see(self, recommender_id: str) -> bool:
        return self.is_staff or (self.role == "recommender" and self.entity_id == recommender_id)


SYSTEM = Actor("system", "system")
