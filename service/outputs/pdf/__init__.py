"""HTML → A4 PDF pages for what the platform writes itself (the 资料汇编's cover, contents, image and notice pages).

Two engines, chosen by ``JTH_PDF_ENGINE``: ``weasyprint`` (the default: a Python library, on every Debian release,
whose PDFs extract CJK text as written and embed TIFF/WebP/BMP as well as PNG/JPEG/GIF) and ``wkhtmltopdf``
(through pdfkit, where Debian still ships the binary: 12, not 13). The pages are the same HTML and CSS for both;
each engine module keeps its own workarounds to itself.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

ENGINES = ("weasyprint", "wkhtmltopdf")
DEFAULT_ENGINE = "weasyprint"


@dataclass(frozen=True)
class Margins:
    """Page margins in millimetres (the official attachment's: 25 top, 22 bottom, 25 left, 22 right)."""

    top: float = 25
    right: float = 22
    bottom: float = 22
    left: float = 25


OFFICIAL_MARGINS = Margins()


def wkhtmltopdf_binary() -> str | None:
    """The wkhtmltopdf program, if this machine has one (``WKHTMLTOPDF`` names another)."""
    return os.environ.get("WKHTMLTOPDF") or shutil.which("wkhtmltopdf")


def available_engines() -> list[str]:
    """The engines this machine can run (WeasyPrint is a dependency; wkhtmltopdf only where installed)."""
    return [name for name in ENGINES if name != "wkhtmltopdf" or wkhtmltopdf_binary()]


def engine_name() -> str:
    """The configured engine; a name that is not an engine is a configuration error, said at once."""
    name = (os.environ.get("JTH_PDF_ENGINE") or DEFAULT_ENGINE).strip().lower()
    if name not in ENGINES:
        raise ValueError(f"JTH_PDF_ENGINE 只能是 {' 或 '.join(ENGINES)}，而不是“{name}”")
    return name


def html_pdf(style: str, body: str, margins: Margins = OFFICIAL_MARGINS, engine: str | None = None) -> bytes:
    """``body`` styled by ``style`` as A4 PDF pages, CJK fonts embedded; nothing outside the page is fetched."""
    name = engine or engine_name()
    if name == "wkhtmltopdf":
        from service.outputs.pdf import wkhtml

        return wkhtml.render(style, body, margins)
    from service.outputs.pdf import weasy

    return weasy.render(style, body, margins)
