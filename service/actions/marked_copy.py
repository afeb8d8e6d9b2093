"""A submission's file marked up with its problems (Word comments / Excel cell comments), for web and API alike."""

from __future__ import annotations

from service.actions.intake import IntakeError
from service.forms.catalog import Catalog, catalog
from service.office.convert.client import get_converter
from service.office.convert.protocol import ConversionError
from service.office.rejected import InputRejected
from service.office.sniff import sniff
from service.render.markup import mark
from service.store import Store
from service.store.models import Submission


def marked_copy(store: Store, sub: Submission, cat: Catalog | None = None) -> tuple[bytes, str]:
    """The marked-up .docx/.xlsx and its file name; legacy files are marked in their converted form."""
    cat = cat or catalog()
    if not sub.readable or not sub.form_id:
        raise IntakeError("MARKUP_UNAVAILABLE")
    try:  # a file of another campaign's form is marked as the form it is
        kind = cat.form(sub.report.get("campaign") or sub.campaign_id, sub.form_id).kind
    except LookupError as exc:
        raise IntakeError("MARKUP_UNAVAILABLE", "unknown_form") from exc
    content = store.files.get(sub.sha256)
    try:
        sniffed = sniff(content, sub.original_name)
        if sniffed.needs_conversion:
            content = get_converter().convert(content, sniffed.ext, kind)
    except (InputRejected, ConversionError) as exc:
        raise IntakeError("MARKUP_UNAVAILABLE", "not_converted") from exc
    problems = [p for p in [*sub.report.get("errors", []), *sub.cross_problems, *sub.report.get("warnings", [])]
                if p["severity"] != "info"]
    stem = sub.original_name.rsplit(".", 1)[0]
    return mark(content, kind, problems), f"批注-{stem}.{kind}"
