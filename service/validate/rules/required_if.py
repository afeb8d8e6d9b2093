"""A field that must be written when another field has a given value (rule kind ``required_if``: 具有法人资格时
须填写登记证号 …). Each rule names its form, ``field``, ``if_field`` and ``equals``, and may word its ``message``;
columns of one table are checked row by row."""

from __future__ import annotations

from typing import Any

from service.validate.rules.document import Document, empty, paired, title


def _same(value: Any, wanted: Any) -> bool:
    if isinstance(wanted, str) and isinstance(value, str):
        return value.strip() == wanted.strip()
    return value == wanted and type(value) is type(wanted)


def check(doc: Document, specs: list[dict[str, Any]]) -> None:
    """RULE_REQUIRED_IF at each empty field whose condition holds."""
    for spec in specs:
        if spec.get("form") != doc.form.id:
            continue
        other = title(doc.form, spec["if_field"])
        for ipath, value, _opath, condition in paired(doc.record, spec["field"], spec["if_field"]):
            if empty(value) and _same(condition, spec["equals"]):
                doc.result.add(doc.problem("RULE_REQUIRED_IF", own=spec.get("message"), **doc.at(ipath),
                                           other=other, equals=spec["equals"]))
