"""WeasyPrint, the default engine: CSS paged media, fonts through fontconfig, images through Pillow.

The HTML is the platform's own, but it carries text and images that people uploaded; the URL fetcher therefore
serves ``data:`` URIs only, so no page can make the service fetch a file or a network address.
"""

from __future__ import annotations

import os

from service.forms.catalog import ROOT

# fontconfig reads FONTCONFIG_FILE once, when Pango first asks for a font: set it before WeasyPrint loads, so that
# 宋体/仿宋/黑体 in a page resolve to Noto CJK as they do in LibreOffice's conversions (config/fonts.conf).
os.environ.setdefault("FONTCONFIG_FILE", str(ROOT / "config" / "fonts.conf"))

import weasyprint  # noqa: E402
from PIL import ImageFile  # noqa: E402
from weasyprint.urls import URLFetcher  # noqa: E402

from service.outputs.pdf import Margins  # noqa: E402

# WeasyPrint tells Pillow, for the whole process, to draw truncated images as far as they go. A scan cut off in
# transit must be refused instead (service.outputs.pdf.images decodes every picture before a page shows it), and
# the pages here only ever show pictures that decoded in full: put Pillow's default back.
ImageFile.LOAD_TRUNCATED_IMAGES = False

# WeasyPrint's own fetcher, limited to the data: protocol (it refuses file:, http: … before opening anything).
_DATA_ONLY = URLFetcher(allowed_protocols=("data",))


def render(style: str, body: str, margins: Margins) -> bytes:
    page = (f"@page {{ size: A4; margin: {margins.top}mm {margins.right}mm {margins.bottom}mm {margins.left}mm; }}"
            f"{style}")
    html = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{page}</style></head>'
            f"<body>{body}</body></html>")
    return weasyprint.HTML(string=html, url_fetcher=_DATA_ONLY).write_pdf()
