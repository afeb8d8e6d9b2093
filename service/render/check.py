"""``forms check``: every schema field has exactly one anchor in its template, and vice versa.

An operator may restyle a template in Word or WPS; this check says, field by field, what an edit broke.
For .docx it also renders the template with a distinct marker in every field and checks that the marker
lands inside the control tagged with that field, so a control whose expression names another field is
caught too.
"""

from __future__ import annotations

import zipfile
from collections import Counter

from lxml import etree
from openpyxl import load_workbook

from service.forms.catalog import Catalog, Form
from service.forms.fields import arrays
from service.render.docx import DocxRenderer

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _docx_tags(xml: bytes) -> tuple[Counter, list[str], dict[str, str]]:
    root = etree.fromstring(xml)
    tags: Counter = Counter()
    plain: list[str] = []
    texts: dict[str, str] = {}
    for sdt in root.iter(W + "sdt"):
        pr = sdt.find(W + "sdtPr")
        tag = pr.find(W + "tag") if pr is not None else None
        name = tag.get(W + "val") if tag is not None else ""
        tags[name] += 1
        if pr is not None and pr.find(W + "text") is not None:
            plain.append(name)
        content = sdt.find(W + "sdtContent")
        texts.setdefault(name, "".join(t.text or "" for t in content.iter(W + "t")) if content is not None else "")
    return tags, plain, texts


def _marker_record(form: Form) -> tuple[dict, dict[str, str]]:
    record: dict = {}
    expect: dict[str, str] = {}
    for i, f in enumerate(form.fields):
        mark = f.enum[0] if f.enum else f"MARK{i:03d}X"
        expect[f.path] = ("☑" + mark) if f.enum and not f.array else mark
        if f.array:
            record.setdefault(f.array, [{}])[0][f.key] = mark
        elif f.type == "lines":
            record[f.path] = [mark]
        else:
            record[f.path] = mark
    return record, expect


def check_docx(form: Form) -> list[str]:
    problems: list[str] = []
    with zipfile.ZipFile(form.template_path) as zf:
        tags, plain, _ = _docx_tags(zf.read("word/document.xml"))
    paths = {f.path for f in form.fields}
    for path in sorted(paths):
        if tags[path] == 0:
            problems.append(f"字段 {path} 在模板中没有内容控件（标记 tag 应为 {path}）")
        elif tags[path] > 1:
            problems.append(f"字段 {path} 在模板中有 {tags[path]} 个内容控件，应只有一个")
    for tag in sorted(set(tags) - paths):
        problems.append(f"模板中的内容控件 {tag or '（无标记）'} 不对应任何字段")
    for tag in plain:
        problems.append(f"内容控件 {tag} 是纯文本控件，LibreOffice 另存时会重复其文字；请改为格式文本控件")
    if problems:
        return problems
    renderer = DocxRenderer(form.template_path, {f.path: f.enum for f in form.fields if f.enum})
    record, expect = _marker_record(form)
    xml = renderer.render_xml(record).encode("utf-8")
    _, _, texts = _docx_tags(xml)
    for path, mark in expect.items():
        if mark not in texts.get(path, ""):
            problems.append(f"字段 {path} 的内容控件没有显示该字段的值（模板表达式可能写错了字段名）")
    return problems


def check_xlsx(form: Form) -> list[str]:
    problems: list[str] = []
    wb = load_workbook(form.template_path)
    names = set(wb.defined_names.keys())
    expected = {f.path for f in form.fields if not f.array}
    expected |= {f"{a}.{c.key}" for a, cols in arrays(form.fields).items() for c in cols}
    for name in sorted(expected - names):
        problems.append(f"字段 {name} 在模板中没有定义名称")
    for name in sorted(n for n in names - expected if not n.startswith("_xlnm")):
        problems.append(f"模板中的定义名称 {name} 不对应任何字段")
    for name in sorted(expected & names):
        dests = list(wb.defined_names[name].destinations)
        if len(dests) != 1 or ":" in dests[0][1]:
            problems.append(f"定义名称 {name} 应指向一个单元格")
    return problems


def check_form(form: Form) -> list[str]:
    """Problems with one form's template; an empty list means every field has exactly one anchor."""
    if not form.template_path.exists():
        return [f"模板文件不存在：{form.template_path}"]
    return check_docx(form) if form.kind == "docx" else check_xlsx(form)


def check_all(cat: Catalog) -> dict[str, list[str]]:
    """Problems per ``campaign/form``."""
    return {f"{c.id}/{f.id}": check_form(f) for c in cat.campaigns.values() for f in c.forms.values()}


