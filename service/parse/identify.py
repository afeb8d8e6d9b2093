"""Which form a returned document is: by its identity stamp, else by the labels and title it shows.

The stamp (custom properties the service adds) is trusted unless the content says otherwise: a form pasted
into a downloaded file of another form keeps the wrong stamp. Without a stamp the document is compared with
every form's template signature (its labels and title); the best match above a threshold wins and is
reported as inferred, a tie is ambiguous, a form of another campaign is named and refused.
"""

from __future__ import annotations

from service.forms.catalog import Catalog, Form
from service.forms.layout import Layout, core_key, label_key, layout
from service.forms.stamp import Stamp
from service.office.docx import DocxDocument, Paragraph
from service.office.xlsx import XlsxDocument
from service.problems.report import ERROR, ParseResult, Problem, problem

MIN_STRUCTURE_SCORE = 0.6


def document_keys(doc: DocxDocument | XlsxDocument) -> set[str]:
    """The label keys of the document's short texts (paragraphs, cells): what a form's signature is matched to."""
    keys: set[str] = set()
    if isinstance(doc, DocxDocument):
        for block in doc.blocks:
            texts = [block.text] if isinstance(block, Paragraph) else [
                c.text for r in block.rows for c in r.cells if c.text and not c.continued]
            for text in texts:
                if len(text) <= 60:
                    keys.add(label_key(text))
                    keys.add(core_key(text))
    else:
        for sheet in doc.sheets:
            for row in sheet.rows[:60]:
                for value in row[:40]:
                    if isinstance(value, str) and value and len(value) <= 60:
                        keys.add(label_key(value))
    return keys


def structure_score(lay: Layout, keys: set[str]) -> float:
    """The share of the form's labels (and title) that the document shows."""
    if not lay.signature:
        return 0.0
    hits = sum(1 for k in lay.signature if k in keys or core_key(k) in keys)
    return hits / len(lay.signature)


def _scored(cat: Catalog, kind: str, keys: set[str]) -> list[tuple[float, Form]]:
    """Every form of this kind with the share of its labels the document shows, best first."""
    scored = [(structure_score(layout(form), keys), form)
              for camp in cat.campaigns.values() for form in camp.forms.values() if form.kind == kind]
    scored.sort(key=lambda x: -x[0])
    return scored


def identify(doc: DocxDocument | XlsxDocument, cat: Catalog, campaign: str | None) -> tuple[
        Form | None, str, Problem | None]:
    """The form a document is: by its identity stamp, else by its structure (reported as inferred)."""
    kind = "docx" if isinstance(doc, DocxDocument) else "xlsx"
    stamp = Stamp.from_properties(doc.custom)
    if stamp is not None:
        known = cat.campaigns.get(stamp.campaign)
        form = known.forms.get(stamp.form) if known else None
        if form is not None and form.kind == kind:
            keys = document_keys(doc)
            if structure_score(layout(form), keys) < MIN_STRUCTURE_SCORE:
                # The stamp says one form, the content is another (pasted into a downloaded file): trust the content.
                score, other = next(((sc, f) for sc, f in _scored(cat, kind, keys) if f is not form), (0.0, None))
                if other is not None and score >= MIN_STRUCTURE_SCORE:
                    if campaign and other.campaign_id != campaign:
                        return other, "structure", problem(
                            "FORM_WRONG_CAMPAIGN", variant="by_content",
                            campaign=cat.campaigns[other.campaign_id].title, form=other.title)
                    return other, "structure", problem("FORM_STAMP_MISMATCH", stamped=form.title, form=other.title,
                                                       score=score)
            if campaign and form.campaign_id != campaign:
                wanted = cat.campaigns[campaign].title if campaign in cat.campaigns else campaign
                return form, "stamp", problem("FORM_WRONG_CAMPAIGN", variant="by_stamp", campaign=known.title,
                                              form=form.title, wanted=wanted)
            return form, "stamp", None
    scored = _scored(cat, kind, document_keys(doc))
    if not scored or scored[0][0] < MIN_STRUCTURE_SCORE:
        expected = "、".join(f"《{f.title}》" for c in cat.campaigns.values() for f in c.forms.values()
                            if campaign in (None, c.id))
        return None, "", problem("FORM_UNKNOWN", forms=expected)
    best_score = scored[0][0]
    best = [f for s, f in scored if s == best_score]
    if campaign:
        in_campaign = [f for f in best if f.campaign_id == campaign]
        if not in_campaign:
            form = best[0]
            return form, "structure", problem("FORM_WRONG_CAMPAIGN", campaign=cat.campaigns[form.campaign_id].title,
                                              form=form.title)
        best = in_campaign
    if len(best) > 1:
        return None, "", problem("FORM_AMBIGUOUS")
    form = best[0]
    return form, "structure", problem("FORM_INFERRED", form=form.title, score=best_score)


def record_identity(result: ParseResult, doc: DocxDocument | XlsxDocument, form: Form, identified_by: str,
                    note: Problem | None) -> None:
    """Write what identification found into ``result``: the form, and from a stamp its schema version, the
    entity it was issued for and the issuance; ``note`` (how it was identified) and an outdated version."""
    result.campaign, result.form, result.form_title = form.campaign_id, form.id, form.title
    result.identified_by = identified_by
    stamp = Stamp.from_properties(doc.custom) if identified_by == "stamp" else None
    result.schema_version = stamp.schema_version if stamp else form.version
    result.entity, result.issuance = (stamp.entity, stamp.issuance) if stamp else ("", "")
    if note is not None:
        result.add(note)
        if note.severity == ERROR:
            return
    if stamp and stamp.schema_version.split(".")[0] != form.version.split(".")[0]:
        result.add(problem("FORM_VERSION", used=stamp.schema_version, current=form.version))
