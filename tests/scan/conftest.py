"""The scan corpus, made once per session: each form issued, filled by its labels in LibreOffice and exported to
PDF (its text layer is the electronic copy); one 推荐书 with a value changed before it was printed; the paper
copies (scans, photos) are made from those PDFs by the tests that need them (tests/support/scans.py)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from service.render.form import render
from tests.support.office_fill import fill_in_office
from tests.support.samples import CAMPAIGN_OF, sample
from tests.support.scans import CHANGED, PDF_FILTER, fills_for

ENTITY = {"recommendation_letter": "edu-ln", "summary_table": "edu-ln", "work_summary": "ln-08"}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "scan"


@pytest.fixture(scope="session")
def filled(tmp_path_factory, lo_profile) -> dict[str, Path]:
    """Each form filled with its sample record and exported to PDF, plus ``changed`` (the 推荐书 with
    :data:`CHANGED`) and the 推荐书 saved as .docx (its electronic copy)."""
    folder = tmp_path_factory.mktemp("scan-corpus")
    jobs, out = [], {}
    for form_id, campaign in CAMPAIGN_OF.items():
        issued = render(campaign, form_id, None, ENTITY[form_id])
        kind = issued.filename.rsplit(".", 1)[1]
        src = folder / f"{form_id}.issued.{kind}"
        src.write_bytes(issued.content)
        out[form_id] = folder / f"{form_id}.pdf"
        outputs = [{"path": out[form_id], "filter": PDF_FILTER[kind]}]
        if form_id == "recommendation_letter":
            out["electronic"] = folder / f"{form_id}.docx"
            outputs.append({"path": out["electronic"], "filter": "MS Word 2007 XML"})
            changed = copy.deepcopy(sample(form_id))
            changed[CHANGED[0]] = CHANGED[1]
            out["changed"] = folder / f"{form_id}.changed.pdf"
            jobs.append({"src": src, "fills": fills_for(form_id, campaign, changed),
                         "outputs": [{"path": out["changed"], "filter": PDF_FILTER[kind]}]})
        jobs.append({"src": src, "fills": fills_for(form_id, campaign, sample(form_id)), "outputs": outputs})
    fill_in_office(jobs, lo_profile)
    return out


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where the tests leave the pictures they made, for a person to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
