"""Where a problem is in a returned document: a table cell, a paragraph or a sheet cell.

It lives with the problems, not with the readers, because a report, a marked copy and a reviewer all point at
the same place, whichever reader found it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Where:
    """A place in a document, precise enough to point a reviewer (or a comment) at it."""

    part: str  # table | paragraph | sheet
    table: int | None = None
    row: int | None = None
    cell: int | None = None
    paragraph: int | None = None
    sheet: str | None = None
    ref: str | None = None

    def text(self) -> str:
        if self.part == "table":
            return f"第{self.table + 1}个表格第{self.row + 1}行第{self.cell + 1}格"
        if self.part == "paragraph":
            return f"正文第{self.paragraph + 1}段"
        return f"工作表“{self.sheet}”{self.ref}单元格"

    def to_dict(self) -> dict[str, Any]:
        out = {k: v for k, v in self.__dict__.items() if v is not None}
        out["text"] = self.text()
        return out
