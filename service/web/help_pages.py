"""Help pages, one per audience (schools, units that send files, the platform's staff): how to fill, how to return a
file, what each status means, whom to call. Contacts, deadlines and addresses come from the campaign data; the
statuses and their meaning from the lifecycle data, so the help says what the platform does."""

from __future__ import annotations

from flask import Blueprint, abort

from service.forms.catalog import catalog
from service.store.lifecycle import states
from service.web.pages import page

bp = Blueprint("help", __name__, url_prefix="/help")
AUDIENCES = {"schools": "学校与职教集团", "units": "推荐单位与报送单位", "staff": "平台工作人员"}


def _campaigns() -> list[dict]:
    return [{"id": c.id, "title": c.title, "document_number": c.data.get("document_number", ""), "deadline": c.data["deadline"],
             "submitter_label": c.data.get("submitter_label", "报送单位"), "contacts": c.data.get("contacts", []),
             "submit_to": c.data.get("submit_to", {}),
             "forms": [{"id": f.id, "title": f.title, "annex": f.annex} for f in c.forms.values()],
             "attachments": [a["title"] for a in c.data.get("attachments", [])]}
            for c in catalog().campaigns.values()]


@bp.get("/")
def index():
    return page("help/index.html", {"audiences": AUDIENCES, "campaigns": _campaigns()})


@bp.get("/<audience>")
def audience(audience: str):
    if audience not in AUDIENCES:
        abort(404)
    statuses = [{"id": s.id, "label": s.label, "description": s.description, "counts": s.counts}
                for s in states().values()]
    return page(f"help/{audience}.html", {"audience": audience, "title": AUDIENCES[audience],
                                          "campaigns": _campaigns(), "statuses": statuses})
