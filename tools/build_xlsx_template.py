"""Build templates/xlsx/summary_table.xlsx (附件3 推荐名单汇总表).

Anchors: each scalar field is a defined name equal to its schema path (one cell); the ranked list is a
keyed header row whose cells are defined names ``rows.<key>``, with data rows below it. Enumerations carry
data-validation lists. openpyxl keeps all of these, and LibreOffice 7.4 keeps them on re-save.
"""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation

ROOT = Path(__file__).resolve().parent.parent
SHEET = "推荐名单汇总表"
HEADER_ROW = 5
BLANK_ROWS = 5
THIN = Side(style="thin", color="000000")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)


def summary_table() -> None:
    s = json.loads((ROOT / "schemas" / "summary_table.schema.json").read_text(encoding="utf-8"))
    p = s["properties"]
    items = p["rows"]["items"]["properties"]
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    body = Font(name="仿宋", size=12)
    bold = Font(name="黑体", size=12)
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    left = Alignment(horizontal="left", vertical="center", wrap_text=True)
    shade = PatternFill("solid", fgColor="F2F2F2")

    ws["A1"] = "附件3"
    ws["A1"].font = Font(name="黑体", size=16)
    ws.merge_cells("A2:H2")
    ws["A2"] = s["title"]
    ws["A2"].font = Font(name="宋体", size=20, bold=True)
    ws["A2"].alignment = center
    ws.row_dimensions[2].height = 40

    def pair(label_range: str, text: str, value_range: str, key: str) -> None:
        label_cell = label_range.split(":")[0]
        if ":" in label_range:
            ws.merge_cells(label_range)
        ws[label_cell] = text
        ws[label_cell].font = bold
        ws[label_cell].alignment = Alignment(horizontal="right", vertical="center")
        first = value_range.split(":")[0]
        if ":" in value_range:
            ws.merge_cells(value_range)
        ws[first].font = body
        ws[first].alignment = left
        ws[first].border = Border(bottom=THIN)
        ws[first].number_format = "@"
        wb.defined_names[key] = DefinedName(key, attr_text=f"'{SHEET}'!${first[0]}${first[1:]}")

    pair("A3:B3", "推荐单位（盖章）：", "C3:D3", "recommender")
    pair("E3:F3", "推荐单位类型：", "G3:H3", "recommender_type")
    pair("A4:B4", "填表人：", "C4", "filled_by")
    pair("D4", "联系方式：", "E4:F4", "filler_phone")
    pair("G4", "填表日期：", "H4", "fill_date")
    for row in (3, 4):
        ws.row_dimensions[row].height = 28

    cols = list(items)
    widths = {"rank": 8, "group_name": 34, "lead_units": 30, "founded": 12, "member_count": 10,
              "legal_person": 10, "contact_name": 10, "contact_phone": 16}
    for idx, key in enumerate(cols):
        letter = chr(ord("A") + idx)
        cell = ws[f"{letter}{HEADER_ROW}"]
        cell.value = items[key]["title"]
        cell.font = bold
        cell.alignment = center
        cell.border = BOX
        cell.fill = shade
        ws.column_dimensions[letter].width = widths[key]
        wb.defined_names[f"rows.{key}"] = DefinedName(f"rows.{key}", attr_text=f"'{SHEET}'!${letter}${HEADER_ROW}")
        for r in range(HEADER_ROW + 1, HEADER_ROW + 1 + BLANK_ROWS):
            c = ws[f"{letter}{r}"]
            c.font = body
            c.border = BOX
            c.alignment = center if key in ("rank", "founded", "member_count", "legal_person") else left
            if key not in ("rank", "member_count"):
                c.number_format = "@"  # phones and dates stay text as typed (no lost leading zeros)
            ws.row_dimensions[r].height = 30
    ws.row_dimensions[HEADER_ROW].height = 32

    last = HEADER_ROW + 200
    yesno = DataValidation(type="list", formula1='"是,否"', allow_blank=True, showErrorMessage=True,
                           errorTitle="输入有误", error="请选择“是”或“否”。")
    yesno.add(f"F{HEADER_ROW + 1}:F{last}")
    rtype = DataValidation(type="list", formula1='"' + ",".join(p["recommender_type"]["enum"]) + '"', allow_blank=True,
                           showErrorMessage=True, errorTitle="输入有误", error="请从列表中选择推荐单位类型。")
    rtype.add("G3")
    rank = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="1", allow_blank=True,
                          showErrorMessage=True, errorTitle="输入有误", error="推荐排序为从1开始的整数。")
    rank.add(f"A{HEADER_ROW + 1}:A{last}")
    count = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0", allow_blank=True,
                           showErrorMessage=True, errorTitle="输入有误", error="成员单位数为不小于0的整数。")
    count.add(f"E{HEADER_ROW + 1}:E{last}")
    for dv in (yesno, rtype, rank, count):
        ws.add_data_validation(dv)

    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5

    meta = wb.create_sheet("_meta")
    meta.sheet_state = "veryHidden"
    meta["A1"] = "key"
    meta["B1"] = "value"
    wb.properties.title = s["title"]
    wb.properties.creator = "jth-forms"
    wb.save(ROOT / "templates" / "xlsx" / "summary_table.xlsx")
