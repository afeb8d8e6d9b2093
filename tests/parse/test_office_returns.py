"""Returned forms as they really arrive: filled by their visible labels in LibreOffice, saved in every format.

Each form is issued (prefilled for its recommender or group, the way schools download it), a person types
the sample record into it by the labels they see, and saves it as .docx/.doc/.odt or .xlsx/.xls/.ods; one
copy is pasted into a brand-new document (no controls, no stamp). Every file is parsed through the real
converter. The record must equal what was typed; the corpus totals (exact / flagged / wrong) are printed
for the closing note, and wrong must be 0.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from service.forms.catalog import catalog
from service.forms.layout import layout
from service.office.convert.client import shutdown_converter
from service.parse.pipeline import parse
from service.render.form import render
from tests.support.office_fill import fill_in_office
from tests.support.records import ON_TIME, clean
from tests.support.samples import CAMPAIGN_OF, sample

ENTITY = {"recommendation_letter": "edu-ln", "summary_table": "edu-ln", "work_summary": "ln-08"}
WRITER = {"docx": "MS Word 2007 XML", "doc": "MS Word 97", "odt": "writer8"}
CALC = {"xlsx": "Calc MS Excel 2007 XML", "xls": "MS Excel 97", "ods": "calc8"}
DATE_STYLES = ["{y}年{m}月{d}日", "{y}.{m}.{d}", "{y}/{m:02d}/{d:02d}", "{y}-{m:02d}-{d:02d}"]


def typed(field_, value, kind: str, n: int) -> str:
    """How a person types a value: boxes ticked by hand, dates in the styles people use, names on lines."""
    if isinstance(value, list):
        return "\n".join(value)
    if field_.enum and kind == "docx" and not field_.array:
        return "　".join(("☑" if o == value else "☐") + o for o in field_.enum)
    if field_.format == "date" and kind == "docx":
        y, m, d = (int(x) for x in value.split("-"))
        return DATE_STYLES[n % len(DATE_STYLES)].format(y=y, m=m, d=d)
    return str(value)


def fills_for(form_id: str, record: dict) -> list[dict]:
    """Fill operations derived from the form's own layout: by label, header, heading, table columns."""
    form = catalog().form(CAMPAIGN_OF[form_id], form_id)
    lay = layout(form)
    scalars, tables = [], []
    for n, field_ in enumerate(form.fields):
        loc = lay.locators[field_.path]
        if field_.array or field_.path not in record:
            continue
        value = typed(field_, record[field_.path], form.kind, n)
        if loc.kind in ("cell_right", "sheet_label"):
            scalars.append({"label": loc.label, "value": value})
        elif loc.kind == "cell_below":
            scalars.append({"label": loc.label, "value": value, "below": True})
        else:
            scalars.append({"heading": loc.label, "value": value})
    for array in lay.arrays:
        columns = lay.columns(array)
        rows = [[typed(next(f for f in form.fields if f.path == c.path), item.get(c.path.split("[].")[1], ""),
                       form.kind, 0) for c in columns] for item in record.get(array, [])]
        tables.append({"table": [c.label for c in columns], "rows": rows, "delete_extra": True})
    return scalars + tables


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, lo_profile) -> dict[Path, str]:
    folder = tmp_path_factory.mktemp("returned")
    jobs, files = [], {}
    for form_id, campaign in CAMPAIGN_OF.items():
        issued = render(campaign, form_id, None, ENTITY[form_id])
        src = folder / f"{form_id}.issued.{issued.filename.rsplit('.', 1)[1]}"
        src.write_bytes(issued.content)
        filters = WRITER if src.suffix == ".docx" else CALC
        outs = [{"path": folder / f"{form_id}.{ext}", "filter": name} for ext, name in filters.items()]
        jobs.append({"src": src, "fills": fills_for(form_id, sample(form_id)), "outputs": outs})
        files.update({o["path"]: form_id for o in outs})
        if src.suffix == ".docx":
            pasted = folder / f"{form_id}.pasted.docx"
            jobs.append({"src": src, "fills": fills_for(form_id, sample(form_id)), "paste_into_new": True,
                         "outputs": [{"path": pasted, "filter": WRITER["docx"]}]})
            files[pasted] = form_id
    fill_in_office(jobs, lo_profile)
    yield files
    shutdown_converter()


def tally(expected, got, flagged: set[str], prefix: str = "") -> tuple[int, int, list[str]]:
    """(exact, flagged, wrong paths) comparing leaf values of two records."""
    exact = flags = 0
    wrong: list[str] = []
    for key in sorted(set(expected) | set(got)):
        path = f"{prefix}{key}"
        a, b = expected.get(key), got.get(key)
        if isinstance(a, list) and a and isinstance(a[0], dict):
            b = b or []
            for i in range(max(len(a), len(b))):
                e, f, w = tally(a[i] if i < len(a) else {}, b[i] if i < len(b) else {}, flagged, f"{path}.{i}.")
                exact, flags, wrong = exact + e, flags + f, wrong + w
        elif path in flagged:
            flags += 1
        elif a == b:
            exact += 1
        else:
            wrong.append(path)
    return exact, flags, wrong


def test_every_returned_format_parses_to_what_was_typed(corpus):
    totals = [0, 0, 0]
    report = []
    for path, form_id in corpus.items():
        result = parse(path.read_bytes(), path.name, received_at=ON_TIME[CAMPAIGN_OF[form_id]])
        assert result.readable, [p.to_dict() for p in result.errors]
        assert result.form == form_id, path.name
        flagged = {p.path for p in result.problems if p.severity == "review"}
        exact, flags, wrong = tally(clean(sample(form_id)), clean(result.record), flagged)
        totals = [totals[0] + exact, totals[1] + flags, totals[2] + len(wrong)]
        report.append(f"{path.name}: exact {exact}, flagged {flags}, wrong {wrong}, "
                      f"identified by {result.identified_by}, converted {result.converted}")
        assert not wrong, f"{path.name}: {wrong}"
        assert not flags, f"{path.name}: {[p.to_dict() for p in result.problems if p.severity == 'review']}"
        assert result.status == "accepted", f"{path.name}: {[p.to_dict() for p in result.errors]}"
    print("\n".join(report))
    print(f"round-trip corpus: {len(corpus)} files, fields exact {totals[0]}, flagged {totals[1]}, wrong {totals[2]}")
    assert totals[2] == 0


def test_pasted_copies_are_identified_by_structure(corpus):
    for path, form_id in corpus.items():
        if ".pasted." in path.name:
            result = parse(path.read_bytes(), path.name, received_at=ON_TIME[CAMPAIGN_OF[form_id]])
            assert result.identified_by == "structure"
            assert "FORM_INFERRED" in {p.code for p in result.warnings}


def test_legacy_saves_were_converted_and_keep_the_stamp(corpus):
    for path, form_id in corpus.items():
        if path.suffix in (".doc", ".xls"):
            result = parse(path.read_bytes(), path.name, received_at=ON_TIME[CAMPAIGN_OF[form_id]])
            assert result.converted and result.identified_by == "stamp"
            assert result.entity == ENTITY[form_id]


def test_plain_text_controls_resaved_by_libreoffice_are_flagged_not_read(tmp_path, lo_profile):
    """LibreOffice 7.4 (Debian 12) writes a plain-text control's text several times over: flagged, never a value.
    LibreOffice 25.2 (Debian 13) keeps it once: read as it is. Either way nothing unflagged is wrong."""
    import zipfile

    from lxml import etree

    from tests.support import docx_edit as de

    def plain(root):
        for pr in root.iter(de.W + "sdtPr"):
            etree.SubElement(pr, de.W + "text")

    def body_text(path) -> str:
        with zipfile.ZipFile(path) as zf:
            return "".join(etree.fromstring(zf.read("word/document.xml")).itertext())

    record = sample("recommendation_letter")
    src = tmp_path / "plain.docx"
    src.write_bytes(de.edit(render("jth-2020", "recommendation_letter", record).content, plain))
    out = tmp_path / "plain.resaved.docx"
    fill_in_office([{"src": src, "fills": [], "outputs": [{"path": out, "filter": WRITER["docx"]}]}], lo_profile)
    result = parse(out.read_bytes(), out.name, received_at=dt.datetime(2020, 11, 20, tzinfo=dt.UTC))
    corrupted = {p.path for p in result.problems if p.code == "FIELD_CORRUPTED"}
    repeated = body_text(out).count(record["contact_name"]) > body_text(src).count(record["contact_name"])
    if repeated:  # this LibreOffice wrote the text more than once
        assert {"group_name", "contact_name", "features"} <= corrupted
        assert result.status == "needs_review"
    else:
        assert not corrupted and result.status == "accepted", result.problems
    expected = clean(record)
    for key, value in clean(result.record).items():
        if key != "members" and key not in corrupted:
            assert value == expected[key], key  # whatever was not flagged is exactly right


def test_wps_and_et_names_go_through_the_right_import_filter(corpus):
    """WPS Office saves its own .wps/.et (OLE like .doc/.xls); the name picks LibreOffice's import filter."""
    for path, form_id in corpus.items():
        if path.suffix in (".doc", ".xls"):
            name = path.stem + (".wps" if path.suffix == ".doc" else ".et")
            result = parse(path.read_bytes(), name, received_at=ON_TIME[CAMPAIGN_OF[form_id]])
            assert (result.format, result.converted) == (name.rsplit(".", 1)[1], True)
            assert clean(result.record) == clean(sample(form_id)), name
