"""PDFs that leave the platform carry no active content: no JavaScript, no launch or open actions, no embedded
files, no links that make a reader fetch or run something.

An attachment PDF comes from a unit; the 资料汇编 goes to the expert panel, whose readers may run what a PDF asks
for when it is opened. The dossier keeps what the pages show and drops everything a PDF can *do*.
"""

from __future__ import annotations

from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject

# Actions that run, fetch, send or open something outside the document. /GoTo (a place in this PDF) stays.
ACTIVE_ACTIONS = frozenset({"/JavaScript", "/Launch", "/URI", "/GoToR", "/GoToE", "/SubmitForm", "/ImportData",
                            "/ResetForm", "/Rendition", "/Sound", "/Movie", "/RichMediaExecute", "/Hide",
                            "/SetOCGState", "/Trans", "/GoTo3DView", "/Named"})
# Annotations that are themselves active content (a file, media, a 3D scene). A form field's widget stays: it
# shows what was filled in; its actions go like any other's.
ACTIVE_ANNOTATIONS = frozenset({"/FileAttachment", "/Sound", "/Movie", "/Screen", "/RichMedia", "/3D"})
CATALOG_KEYS = ("/OpenAction", "/AA", "/URI", "/Collection")
NAME_TREES = ("/JavaScript", "/EmbeddedFiles", "/URLS", "/AlternatePresentations", "/Renditions")


def _active(action: object) -> bool:
    """An action dictionary (or a chain of them through /Next) that does anything but go to a page here."""
    seen = 0
    while isinstance(action, DictionaryObject) and seen < 64:
        if action.get("/S") in ACTIVE_ACTIONS or "/JS" in action:
            return True
        action = action.get("/Next")
        action = action.get_object() if action is not None else None
        seen += 1
    return isinstance(action, ArrayObject)  # a list of next actions: refuse rather than walk it


def _keep(annotation: DictionaryObject) -> bool:
    if annotation.get("/Subtype") in ACTIVE_ANNOTATIONS:
        return False
    action = annotation.get("/A")
    return not _active(action.get_object() if action is not None else None)


def strip_active_content(writer: PdfWriter) -> None:
    """Remove active content from every page and from the document catalog, in place.

    Dropping a reference leaves the object in the writer; unreferenced objects are removed at the end, so that the bytes
    written hold none of it (a reader that scans objects, not the page tree, finds nothing either)."""
    root = writer._root_object
    for key in CATALOG_KEYS:
        root.pop(NameObject(key), None)
    form = root.get("/AcroForm")
    if form is not None:  # XFA forms are scripts and data for a form engine; calculation order names scripts
        for key in ("/XFA", "/CO"):
            form.get_object().pop(NameObject(key), None)
    names = root.get("/Names")
    if names is not None:
        names = names.get_object()
        for key in NAME_TREES:
            names.pop(NameObject(key), None)
    for page in writer.pages:
        page.pop(NameObject("/AA"), None)
        annots = page.get("/Annots")
        if annots is None:
            continue
        kept = ArrayObject()
        for ref in annots.get_object():
            annotation = ref.get_object()
            if isinstance(annotation, DictionaryObject) and _keep(annotation):
                annotation.pop(NameObject("/AA"), None)
                kept.append(ref)
        if kept:
            page[NameObject("/Annots")] = kept
        else:
            page.pop(NameObject("/Annots"), None)
    # pypdf drops objects nothing refers to, one layer a pass (an orphaned link still refers to its action).
    while True:
        before = writer._objects.count(None)
        writer.compress_identical_objects(remove_duplicates=False, remove_unreferenced=True)
        if writer._objects.count(None) == before:
            break
