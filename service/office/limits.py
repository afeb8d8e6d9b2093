"""Resource ceilings for reading untrusted files: one document, and a zip of many uploads (bulk ingest).

Every bound the office layer enforces lives here, so a deployment tightens them in one place
(``dataclasses.replace(DEFAULT_LIMITS, ...)``) and every reader sees the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

MiB = 1024 * 1024
GiB = 1024 * MiB


@dataclass(frozen=True)
class Limits:
    """Resource ceilings for one upload, and for a batch of uploads in one zip.

    Frozen because an instance is used as a shared default argument; use
    ``dataclasses.replace(DEFAULT_LIMITS, ...)`` to derive tighter limits.

    ``max_ratio`` follows Apache POI's ZipSecureFile (min inflate ratio 0.01)
    and only applies to entries larger than ``ratio_grace_bytes`` because tiny
    XML parts legitimately compress extremely well.  ``max_xml_bytes`` is
    lower than ``max_entry_bytes`` because an lxml tree costs several times
    the size of its source text.

    A batch (a zip of many uploads, read from disk by bulk ingest) has its own entry count and total, since a
    province zips hundreds of 推荐书 at once; each of its entries is one upload and is bounded by
    ``max_file_bytes`` like any other, so no compression ratio applies to it (its own sniff applies the
    document limits later).
    """

    max_file_bytes: int = 20 * MiB
    max_zip_entries: int = 2000
    max_uncompressed_bytes: int = 200 * MiB
    max_entry_bytes: int = 50 * MiB
    max_ratio: int = 100
    max_xml_bytes: int = 8 * MiB  # the heaviest real 推荐书 has a 260 KB document.xml
    ratio_grace_bytes: int = 1 * MiB
    #: Cells a workbook may span (rows × columns of each sheet's used area, summed): the spreadsheet reader
    #: allocates the whole rectangle, so one cell typed at XFD1048576 would otherwise cost half a terabyte.
    max_sheet_cells: int = 2_000_000
    #: RTF groups (``{``): a Word-saved 推荐书 has about 10,000; LibreOffice needs gigabytes for millions.
    max_rtf_groups: int = 200_000
    #: RTF ``\cell``/``\cellx`` words: a 1,000-row member table has about 6,000; LibreOffice spends minutes
    #: laying out tables no form has.
    max_rtf_cells: int = 100_000
    #: Entries in one batch zip (counted in its central directory before zipfile builds an object for each).
    max_batch_entries: int = 50_000
    #: Declared bytes of all the entries of one batch zip that are read.
    max_batch_bytes: int = 4 * GiB
    #: Pages of a PDF (frames of a TIFF) read: a 推荐书 has 4; a file with thousands is refused before any is read.
    max_pages: int = 30
    #: A PDF page's longer side in points (A3 is 1191, A0 2384): a larger page is no form and would rasterize huge.
    max_page_points: int = 2400
    #: Pixels of a picture, or of a page rasterized (a 48-megapixel phone photo is 8000 × 6000).
    max_picture_pixels: int = 50_000_000
    #: The resolution a scanned page is read at.
    scan_dpi: int = 200
    #: Seconds reading one PDF or picture may take (text layer, rasterizing, OCR), checked between steps.
    max_scan_seconds: int = 120
    #: Decompress every member once during sniff() so truncated data and bad
    #: CRCs are reported as ZIP_CORRUPT up front instead of mid-render.
    verify_crc: bool = True

    def __post_init__(self) -> None:
        for field in fields(self):
            if field.name in ("ratio_grace_bytes", "verify_crc"):
                continue
            if getattr(self, field.name) <= 0:
                raise ValueError(f"Limits.{field.name} must be positive")
        if self.ratio_grace_bytes < 0:
            raise ValueError("Limits.ratio_grace_bytes must not be negative")


DEFAULT_LIMITS = Limits()
