"""The catalogue of problem codes: every code with its title, message and HTTP status, in one place."""

from __future__ import annotations

from typing import Any

FIX_RESAVE = "请用 Word/WPS/Excel 打开后“另存为”新的 .docx 或 .xlsx 文件再上传。"

#: Every rejection code this module can raise.  The API layer and the
#: reports render titles/messages straight from here, so adding a code
#: without a catalogue entry is a programming error (see InputRejected).
CATALOGUE: dict[str, dict[str, Any]] = {
    "FILE_EMPTY": {
        "title": "文件为空",
        "message": "上传的文件是空的（0 字节），可能上传中断或文件未保存。"
        "请确认文件在电脑上能正常打开后重新上传。",
        "http_status": 400,
    },
    "FILE_TOO_LARGE": {
        "title": "文件过大",
        "message": "文件超过平台允许的大小上限。请在 Word/WPS 中压缩图片"
        "（文件 → 压缩图片）、删除无关的图片或附件后重新上传。",
        "http_status": 413,
    },
    "FILE_ENCRYPTED": {
        "title": "文件已加密",
        "message": "文件已加密（设置了打开密码），平台无法读取。"
        "请在 Word/WPS 中取消密码后重新上传。",
        "http_status": 422,
    },
    "FILE_MACRO": {
        "title": "文件含有宏",
        "message": "文件含有宏（VBA 代码），出于安全考虑平台不接收。"
        "请在 Word/WPS/Excel 中“另存为”不含宏的 .docx 或 .xlsx 格式后重新上传。",
        "http_status": 422,
    },
    "FILE_IMAGE_OR_PDF": {
        "title": "图片或 PDF 文件",
        "message": "看起来是扫描件或图片/PDF，请上传可编辑的 Word/Excel 原文件；"
        "盖章扫描件请作为附件上传。",
        "http_status": 415,
    },
    "FILE_NOT_OFFICE": {
        "title": "不是 Word/Excel 文件",
        "message": "文件内容不是 Word/Excel 文档（可能是文本、网页或其他程序的文件，"
        "只是改了扩展名）。请用 Word/WPS/Excel 打开原文件，“另存为” .docx 或 .xlsx "
        "后重新上传。",
        "http_status": 415,
    },
    "FILE_UNSUPPORTED": {
        "title": "不支持的文件类型",
        "message": "这是平台不接收的 Office 文件类型（如 PPT 演示文稿）。请上传 Word"
        "（.docx/.doc/.wps）或 Excel（.xlsx/.xls/.et）文件。",
        "http_status": 415,
    },
    "ZIP_CORRUPT": {
        "title": "文件已损坏",
        "message": "文件已损坏或不完整（可能上传中断或下载不完整），平台无法读取。"
        "请确认文件能在 Word/WPS/Excel 中正常打开，“另存为”一份后重新上传。",
        "http_status": 422,
    },
    "ZIP_BOMB": {
        "title": "文件内部结构异常",
        "message": "文件内部数据异常（解压后体积过大、内部文件过多或嵌套压缩包，"
        "疑似压缩炸弹），已拒绝读取。"
        + FIX_RESAVE
        + "如确为超大文件，请拆分后分别上传。",
        "http_status": 422,
    },
    "ZIP_UNSAFE_PATH": {
        "title": "文件内部路径不安全",
        "message": "文件内部含有不安全的路径（如 ../、绝对路径或重复条目），"
        "疑似被篡改，已拒绝读取。" + FIX_RESAVE,
        "http_status": 422,
    },
    "OOXML_INVALID": {
        "title": "不是有效的 Word/Excel 文档",
        "message": "文件是压缩包格式，但不是有效的 Word/Excel 文档（缺少文档主体）。"
        "请不要上传 .zip 压缩包或改过扩展名的文件，" + FIX_RESAVE,
        "http_status": 422,
    },
    "OLE_CORRUPT": {
        "title": "旧版文件已损坏",
        "message": "旧版 Word/Excel 文件（.doc/.xls/.wps/.et）已损坏，平台无法读取。"
        + FIX_RESAVE,
        "http_status": 422,
    },
    "RTF_CORRUPT": {
        "title": "RTF 文件损坏",
        "message": "文件是 RTF 格式，但结构异常（如声明了超出文件长度的二进制数据，或有几十万层嵌套），"
        "平台无法安全地读取。请用 Word/WPS 打开后“另存为” .docx 再上传。",
        "http_status": 422,
    },
    "XML_HOSTILE": {
        "title": "不安全的 XML 结构",
        "message": "文件中含有不安全的 XML 结构（DTD/实体），已拒绝读取。"
        + FIX_RESAVE,
        "http_status": 422,
    },
    "XML_MALFORMED": {
        "title": "文件内容损坏",
        "message": "文件内部的 XML 内容损坏，无法解析。" + FIX_RESAVE,
        "http_status": 422,
    },
    "SHEET_TOO_LARGE": {
        "title": "工作表范围过大",
        "message": "工作表中用到的区域过大（可能在很远的行列里有内容或格式），超出平台处理上限。"
        "请删除表格以外的多余行列（选中后“删除”，不是只清除内容）后重新上传。",
        "http_status": 413,
    },
    "XML_TOO_LARGE": {
        "title": "文档内容过大",
        "message": "文件中某一部分（如某个工作表）内容过大，超出平台处理上限。"
        "请删除多余的空行/空列，或将内容拆分成多个文件后重新上传。",
        "http_status": 413,
    },
}
