"""The 资料汇编 goes to the expert panel without anything a PDF can *do*: no JavaScript, launch or open actions,
embedded files or outside links — neither from an attachment a unit sent nor anywhere else."""

from __future__ import annotations

import datetime as dt
import io

from pypdf import PdfReader, PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, NumberObject, TextStringObject

from service.actions.intake import receive
from service.outputs.dossier import build_compilation
from service.outputs.pdf.sanitize import strip_active_content
from service.render.form import render
from tests.support.samples import sample

ACTIVE = (b"/JavaScript", b"/JS", b"/Launch", b"/EmbeddedFile", b"/OpenAction", b"/AA", b"/URI", b"/FileAttachment")


def _action(kind: str, **entries) -> DictionaryObject:
    action = DictionaryObject({NameObject("/Type"): NameObject("/Action"), NameObject("/S"): NameObject(kind)})
    action.update({NameObject(k): v for k, v in entries.items()})
    return action


def _link(writer: PdfWriter, action: DictionaryObject | None, subtype: str = "/Link", y: int = 700):
    annotation = DictionaryObject({
        NameObject("/Type"): NameObject("/Annot"), NameObject("/Subtype"): NameObject(subtype),
        NameObject("/Rect"): ArrayObject([NumberObject(72), NumberObject(y), NumberObject(300), NumberObject(y + 20)])})
    if action is not None:
        annotation[NameObject("/A")] = writer._add_object(action)
    return writer._add_object(annotation)


def hostile_pdf() -> bytes:
    """A one-page PDF with every kind of active content the probe used, and one harmless link inside it."""
    writer = PdfWriter()
    page = writer.add_blank_page(595, 842)
    js = _action("/JavaScript", **{"/JS": TextStringObject("app.alert('pwned')")})
    page[NameObject("/AA")] = DictionaryObject({NameObject("/O"): writer._add_object(js)})
    page[NameObject("/Annots")] = ArrayObject([
        _link(writer, _action("/JavaScript", **{"/JS": TextStringObject("this.exportDataObject()")}), y=700),
        _link(writer, _action("/Launch", **{"/F": TextStringObject("cmd.exe")}), y=650),
        _link(writer, _action("/URI", **{"/URI": TextStringObject("http://evil.example/beacon")}), y=600),
        _link(writer, _action("/GoTo", **{"/D": ArrayObject([page.indirect_reference, NameObject("/Fit")])}), y=550),
        _link(writer, None, subtype="/FileAttachment", y=500),
    ])
    writer._root_object[NameObject("/OpenAction")] = writer._add_object(js)
    writer.add_attachment("payload.exe", b"MZ not really")  # makes /Names with /EmbeddedFiles
    launch = _action("/JavaScript", **{"/JS": TextStringObject("app.launchURL('http://evil.example/open');")})
    names = writer._root_object["/Names"].get_object()
    names[NameObject("/JavaScript")] = DictionaryObject(
        {NameObject("/Names"): ArrayObject([TextStringObject("open"), writer._add_object(launch)])})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_the_probe_s_pdf_keeps_its_page_and_loses_everything_active():
    data = hostile_pdf()
    assert all(marker in data for marker in (b"/JavaScript", b"/Launch", b"/EmbeddedFile", b"/OpenAction", b"/AA"))
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    strip_active_content(writer)
    out = io.BytesIO()
    writer.write(out)
    clean = out.getvalue()
    assert not [marker for marker in ACTIVE if marker in clean]
    reader = PdfReader(io.BytesIO(clean))
    assert len(reader.pages) == 1
    kept = [a.get_object()["/A"]["/S"] for a in reader.pages[0]["/Annots"]]
    assert kept == ["/GoTo"]  # a link to a place inside the document stays


def test_a_hostile_attachment_reaches_the_panel_without_its_active_content(store):
    received = receive(store, render("jth-2020", "recommendation_letter", sample("recommendation_letter")).content,
                       "推荐书.docx", campaign_id="jth-2020", recommender_id="edu-ln", uploader="t",
                       received_at=dt.datetime(2020, 11, 20, 10, tzinfo=dt.UTC),
                       attachments=[("stamped_scan", "盖章页.pdf", hostile_pdf())])
    assert received.status == "accepted", received.to_dict()
    result = build_compilation(store, "jth-2020", "edu-ln", today=dt.date(2020, 11, 25))
    assert not result.failures
    assert not [marker for marker in ACTIVE if marker in result.pdf]
    titles = [item.title for item in PdfReader(io.BytesIO(result.pdf)).outline if not isinstance(item, list)]
    assert titles == ["辽宁省教育厅"]  # the attachment's page is there, under its unit
