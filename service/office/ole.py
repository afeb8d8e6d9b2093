"""OLE2 compound files: legacy .doc/.xls/.wps/.et, and the wrapper Office puts around an encrypted .docx/.xlsx.

An encrypted .docx/.xlsx is *not* a zip: Office wraps it in an OLE container with
``EncryptionInfo``/``EncryptedPackage`` streams, so that check comes before anything else.
"""

from __future__ import annotations

import io

import msoffcrypto
import olefile

from service.office.rejected import InputRejected

_OLE_ENCRYPTION_STREAMS = {"encryptioninfo", "encryptedpackage", "\x06dataspaces"}
_OLE_MACRO_STORAGES = {"macros", "_vba_project_cur", "vba"}


def ole_ext(data: bytes, hint: str) -> str:
    """The extension an OLE2 upload should be converted under: ``.doc``, ``.wps``, ``.xls`` or ``.et``.

    ``hint`` (the uploaded name's extension) only tells WPS files from Office ones, as LibreOffice picks its
    import filter by extension. Refuses encrypted and macro-carrying files, other Office documents
    (PowerPoint, Visio) and OLE files that are no document at all.
    """
    try:
        ole = olefile.OleFileIO(io.BytesIO(data))
    except Exception as exc:  # olefile raises a zoo of types on bad input
        raise InputRejected("OLE_CORRUPT", detail={"error": str(exc)[:200]}) from exc
    try:
        paths = ole.listdir(streams=True, storages=True)
    except Exception as exc:
        raise InputRejected("OLE_CORRUPT", detail={"error": str(exc)[:200]}) from exc
    finally:
        ole.close()

    top = {path[0].lower() for path in paths if path}
    parts = {part.lower() for path in paths for part in path}

    if top & _OLE_ENCRYPTION_STREAMS:
        raise InputRejected("FILE_ENCRYPTED", detail={"container": "ole"})
    if parts & _OLE_MACRO_STORAGES:
        raise InputRejected(
            "FILE_MACRO", detail={"storages": sorted(parts & _OLE_MACRO_STORAGES)}
        )

    if "worddocument" in top:
        kind, ext = "ole-doc", ".wps" if hint in (".wps", ".wpt") else ".doc"
    elif "workbook" in top or "book" in top:
        kind, ext = "ole-xls", ".et" if hint in (".et", ".ett") else ".xls"
    elif "powerpoint document" in top or "visiodocument" in top:
        raise InputRejected("FILE_UNSUPPORTED", detail={"detected": "ole-other-office"})
    else:
        raise InputRejected("FILE_NOT_OFFICE", detail={"detected": "ole-unknown"})

    if _legacy_encrypted(data):
        raise InputRejected("FILE_ENCRYPTED", detail={"container": kind})
    return ext


def _legacy_encrypted(data: bytes) -> bool:
    """Encryption flag of binary .doc/.xls (FIB fEncrypted / BIFF FILEPASS).

    msoffcrypto-tool is a best-effort reader; if it cannot parse the file we
    let LibreOffice have the final word rather than rejecting a file Office
    would open.
    """
    try:
        office = msoffcrypto.OfficeFile(io.BytesIO(data))
        return bool(office.is_encrypted())
    except Exception:  # noqa: BLE001 - best-effort probe, see docstring
        return False
