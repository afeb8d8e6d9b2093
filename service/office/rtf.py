"""Refusing RTF built to stall or exhaust the converter, before LibreOffice opens it.

RTF is plain text that LibreOffice lays out in full; a few counts over the raw bytes bound what it will
have to do, without parsing anything.
"""

from __future__ import annotations

import re

from service.office.limits import Limits
from service.office.rejected import InputRejected

_RTF_BIN = re.compile(rb"\\bin(\d{1,12})")


def check_rtf(data: bytes, limits: Limits) -> None:
    """Refuse RTF built to stall or exhaust the converter (RTF_CORRUPT): binary runs longer than the file,
    absurd nesting, tables of a hundred thousand cells."""
    groups = data.count(b"{")
    if groups > limits.max_rtf_groups:
        raise InputRejected("RTF_CORRUPT", detail={"groups": groups, "limit": limits.max_rtf_groups})
    cells = data.count(b"\\cell")
    if cells > limits.max_rtf_cells:  # tables no form has: LibreOffice spends minutes laying them out
        raise InputRejected("RTF_CORRUPT", detail={"cells": cells, "limit": limits.max_rtf_cells})
    for m in _RTF_BIN.finditer(data):
        if int(m.group(1)) > len(data) - m.end():
            raise InputRejected("RTF_CORRUPT", detail={"bin": int(m.group(1)), "at": m.start()})
