"""The reference page of problem codes (``docs/errors.md``), generated from the catalogue so it cannot drift.

``python -m service.problems.docs`` writes the page; ``--check`` only says whether it is up to date (a test
runs the same comparison).
"""

from __future__ import annotations

import argparse
import re
import string
import sys
from pathlib import Path

from service.problems.catalogue import DATA, FIX, Entry, entries, phrases, stages

PAGE = Path(__file__).resolve().parent.parent.parent / "docs" / "errors.md"
SEVERITY_LABELS = {"error": "错误", "review": "需复核", "info": "提示"}
_MARKDOWN_SPECIAL = str.maketrans({"<": "&lt;", ">": "&gt;", "*": r"\*"})


def shown(template: str, fix: str | None = None) -> str:
    """A template as a reader sees it: phrases and the fix written out, each field a ``{name}`` in code style."""
    out = []
    for literal, name, spec, conversion in string.Formatter().parse(template):
        out.append(literal.translate(_MARKDOWN_SPECIAL))
        if name is None:
            continue
        if name == FIX and fix is not None:
            out.append(shown(fix))
        elif name in phrases():
            out.append(phrases()[name].translate(_MARKDOWN_SPECIAL))
        else:
            out.append(f"`{{{name}{'!' + conversion if conversion else ''}{':' + spec if spec else ''}}}`")
    return "".join(out)


def anchor(heading: str) -> str:
    """The link target a Markdown renderer (GitHub, GitLab) gives a heading: punctuation dropped, spaces to -."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def _entry(e: Entry) -> list[str]:
    lines = [f"### `{e.code}` {e.title}", "", f"{SEVERITY_LABELS[e.severity]} · HTTP {e.http_status}", ""]
    if e.message is not None:
        lines += [f"提示：{shown(e.message, e.fix)}", ""]
        if e.fix is not None:
            lines += [f"处理：{shown(e.fix)}", ""]
    if e.variants:
        lines.append("其他情形：" if e.message is not None else "提示（按情形）：")
        lines.append("")
        for name in e.variants:
            message, fix = e.templates(name)
            lines.append(f"- `{name}`：{shown(message, fix)}")
        lines.append("")
    return lines


def errors_page() -> str:
    """The Markdown of ``docs/errors.md``: every code, grouped by stage in pipeline order."""
    by_stage = {s.id: [e for e in entries() if e.stage == s.id] for s in stages()}
    lines = [
        "# 问题代码一览",
        "",
        f"> 本页由 `python -m service.problems.docs` 根据 `data/{DATA.name}` 生成，请勿手工修改。",
        "",
        "平台在报告、网页、批注和接口中给出的每个问题都有一个稳定的代码（如 `FIELD_REQUIRED`）："
        "程序按代码判断，提示文字可能随版本调整。级别：**错误**——需修改后重新提交（接口请求则被拒绝）；"
        "**需复核**——交平台人员确认；**提示**——仅供参考，不影响结论。"
        "提示中的 `{名称}` 由平台按具体情况填入。",
        "",
        f"共 {len(entries())} 个代码：",
        "",
    ]
    lines += [f"- [{s.title}](#{anchor(s.title)})（{len(by_stage[s.id])} 个）" for s in stages()]
    lines.append("")
    for stage in stages():
        lines += [f"## {stage.title}", "", stage.description, ""]
        for e in by_stage[stage.id]:
            lines += _entry(e)
    return "\n".join(lines).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the page, or with ``--check`` exit 1 when it differs from what the catalogue gives."""
    parser = argparse.ArgumentParser(prog="python -m service.problems.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="只检查 docs/errors.md 是否最新，不写文件")
    args = parser.parse_args(argv)
    page = errors_page()
    current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
    if args.check:
        if current != page:
            print(f"{PAGE} 不是最新的：请运行 python -m service.problems.docs", file=sys.stderr)
            return 1
        return 0
    if current != page:
        PAGE.parent.mkdir(parents=True, exist_ok=True)
        PAGE.write_text(page, encoding="utf-8")
        print(f"已写入 {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
