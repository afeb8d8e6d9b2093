"""The sheet of new accounts to hand out: unit, user name, one-time password, where to sign in. It exists once,
when the accounts are made (only the hashes are kept), and says so on its face."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side

_THIN = Side(style="thin", color="000000")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


def accounts_sheet(issued: Sequence[Any], public_url: str = "") -> bytes:
    """xlsx bytes; ``issued`` items have unit, username, password (service.actions.accounts.Issued)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "账号"
    ws["A1"] = "报送平台账号（一次性密码，首次登录须修改）"
    ws["A1"].font = Font(name="黑体", size=14)
    ws.merge_cells("A1:D1")
    ws["A2"] = (f"登录地址：{public_url.rstrip('/')}/login　" if public_url else "") + \
        "本表只在创建账号时生成一次，平台不保存密码原文；发放后请妥善保管或删除。"
    ws.merge_cells("A2:D2")
    ws["A2"].alignment = Alignment(wrap_text=True)
    ws.row_dimensions[2].height = 32
    header = ("序号", "单位", "用户名", "一次性密码")
    for col, title in enumerate(header, 1):
        cell = ws.cell(row=3, column=col, value=title)
        cell.font, cell.border = Font(name="黑体", size=11), BORDER
    for i, item in enumerate(issued, 1):
        for col, value in enumerate((i, item.unit, item.username, item.password), 1):
            cell = ws.cell(row=3 + i, column=col, value=value)
            cell.border = BORDER
            cell.number_format = "@" if col > 1 else "General"  # a password is text, never a number or a date
            cell.font = Font(name="Noto Sans Mono CJK SC" if col == 4 else "宋体", size=11)
    for col, width in zip("ABCD", (6, 40, 16, 20), strict=True):
        ws.column_dimensions[col].width = width
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.print_title_rows = "3:3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
