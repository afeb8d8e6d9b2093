"""What a campaign's data refers to must exist: its lists, its forms' schemas and templates, the forms and fields
its rules name, the codes and names its messages use. Its schema (``data/schemas/campaign.schema.json``) checks
the shape of the file; this checks the references, each mistake worded with the file and the place.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.forms.datafile import place
from service.forms.fields import schema_fields
from service.problems.catalogue import UnknownProblem, entry, message, phrases

#: The stages whose codes a campaign may word in its own terms (``messages``).
WORDED_STAGES = ("rules", "cross-file")


def field_paths(schema: dict) -> set[str]:
    """Every path a rule may name in a form: its fields, the columns of its tables, and the tables themselves."""
    fields = schema_fields(schema)
    return {f.path for f in fields} | {f.array for f in fields if f.array} | set(schema.get("properties", {}))


def list_ids(value: Any) -> list[str]:
    """A campaign's list setting as list ids: one id or several."""
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def template_names(template: str) -> set[str] | None:
    """The ``{name}`` fields of a message template, or None when it is not one (an unmatched brace)."""
    try:
        return {name for _lit, name, _spec, _conv in string.Formatter().parse(template) if name is not None}
    except ValueError:
        return None


class CampaignCheck:
    """The reference problems of one campaign file (its shape already checked by the campaign schema)."""

    def __init__(self, file: str, doc: dict, schema: dict, reference: dict[str, dict],
                 form_schemas: dict[str, dict]) -> None:
        self.file, self.doc, self.schema = file, doc, schema
        self.reference = reference
        self.form_schemas = form_schemas  # form id → its schema (forms whose schema could be read)
        self.paths = {fid: field_paths(s) for fid, s in form_schemas.items()}
        self.problems: list[str] = []

    def at(self, *steps: Any) -> str:
        return place(steps, self.schema)

    def say(self, variant: str, steps: tuple, **fields: Any) -> None:
        self.problems.append(message("DATA_REFERENCE", variant, file=self.file, place=self.at(*steps), **fields))

    def run(self) -> list[str]:
        self._lists()
        self._timezone()
        self._forms()
        self._rules()
        self._messages()
        return self.problems

    # ---- lists ------------------------------------------------------------------------------------------------

    def _list(self, name: Any, *steps: Any) -> None:
        if isinstance(name, str) and name not in self.reference:
            self.say("list", steps, name=name, known="、".join(sorted(self.reference)) or "（无）")

    def _lists(self) -> None:
        doc = self.doc
        self._list(doc.get("submitters"), "submitters")
        self._list(doc.get("eligible_groups"), "eligible_groups")
        excluded = doc.get("excluded_groups")
        for i, name in enumerate(list_ids(excluded)):
            self._list(name, *(("excluded_groups", i) if isinstance(excluded, list) else ("excluded_groups",)))
        for i, row in enumerate(doc.get("supervisors", [])):
            self._list(row.get("source"), "supervisors", i, "source")
        for i, fdef in enumerate(doc.get("forms", [])):
            if "entity" in fdef:
                self._list(fdef["entity"].get("source"), "forms", i, "entity", "source")

    def _timezone(self) -> None:
        try:
            ZoneInfo(self.doc.get("timezone", ""))
        except (ZoneInfoNotFoundError, ValueError):
            self.problems.append(message("DATA_INVALID", "explained", file=self.file, place=self.at("timezone"),
                                         explained=f"“{self.doc.get('timezone')}”不是时区名称，应写作 Asia/Shanghai 这样的名称。"))

    # ---- forms ------------------------------------------------------------------------------------------------

    def form_ids(self) -> list[str]:
        return [f.get("id", "") for f in self.doc.get("forms", [])]

    def _form(self, form_id: Any, *steps: Any) -> bool:
        """Whether ``form_id`` is one of this campaign's forms (a problem said when it is not)."""
        if form_id in self.form_ids():
            return True
        self.say("form", steps, name=form_id, known="、".join(self.form_ids()))
        return False

    def _field(self, form_id: str, path: Any, *steps: Any) -> None:
        known = self.paths.get(form_id)
        if known is None or not isinstance(path, str) or path in known:
            return  # a form whose schema could not be read is reported once, by its schema
        self.say("field", steps, form=form_id, name=path, known="、".join(sorted(known)))

    def _forms(self) -> None:
        seen: dict[str, int] = {}
        for i, fdef in enumerate(self.doc.get("forms", [])):
            fid = fdef.get("id", "")
            if fid in seen:
                self.say("duplicate", ("forms", i, "id"), name=fid, known=f"第 {seen[fid] + 1} 个表单")
            seen.setdefault(fid, i)
            for key in fdef.get("counted_fields", []):
                self._field(fid, key, "forms", i, "counted_fields")
            for key in fdef.get("entity", {}).get("prefill", {}):
                self._field(fid, key, "forms", i, "entity", "prefill", key)
            for key in fdef.get("blank_rows", {}):
                self._field(fid, key, "forms", i, "blank_rows", key)
        for i, att in enumerate(self.doc.get("attachments", [])):
            for j, fid in enumerate(att.get("for_forms", [])):
                self._form(fid, "attachments", i, "for_forms", j)

    # ---- rules ------------------------------------------------------------------------------------------------

    def _rules(self) -> None:
        rules = self.doc.get("rules", {})
        for kind in ("excluded_group_fields", "eligible_group_fields"):
            for fid, paths in rules.get(kind, {}).items():
                if self._form(fid, "rules", kind, fid):
                    for j, path in enumerate(paths):
                        self._field(fid, path, "rules", kind, fid, j)
        if spec := rules.get("recommender"):
            for j, fid in enumerate(spec.get("forms", [])):
                if self._form(fid, "rules", "recommender", "forms", j):
                    for key in ("name_field", "type_field"):
                        if key in spec:
                            self._field(fid, spec[key], "rules", "recommender", key)
        if spec := rules.get("quota"):
            self._form(spec.get("count_form"), "rules", "quota", "count_form")
            if self._form(spec.get("list_form"), "rules", "quota", "list_form"):
                self._field(spec["list_form"], spec.get("list"), "rules", "quota", "list")
        if spec := rules.get("ranking"):
            if self._form(spec.get("form"), "rules", "ranking", "form"):
                self._field(spec["form"], spec.get("field"), "rules", "ranking", "field")
        for i, spec in enumerate(rules.get("sums", [])):
            if self._form(spec.get("form"), "rules", "sums", i, "form"):
                for j, path in enumerate([spec.get("total"), *spec.get("parts", [])]):
                    self._field(spec["form"], path, "rules", "sums", i, "total" if j == 0 else "parts")
        for i, spec in enumerate(rules.get("cross_checks", [])):
            self._form(spec.get("item_form"), "rules", "cross_checks", i, "item_form")
            if self._form(spec.get("list_form"), "rules", "cross_checks", i, "list_form"):
                self._field(spec["list_form"], spec.get("list"), "rules", "cross_checks", i, "list")
        for kind, keys in (("compare", ("field", "other")), ("required_if", ("field", "if_field")),
                           ("count", ("field",))):
            for i, spec in enumerate(rules.get(kind, [])):
                if self._form(spec.get("form"), "rules", kind, i, "form"):
                    for key in keys:
                        if key in spec:
                            self._field(spec["form"], spec[key], "rules", kind, i, key)

    # ---- messages ---------------------------------------------------------------------------------------------

    def _messages(self) -> None:
        for key, template in self.doc.get("messages", {}).items():
            code, _, variant = key.partition(".")
            steps = ("messages", key)
            try:
                spec = entry(code)
                allowed = spec.fields(variant or None)
            except UnknownProblem:
                self.say("code", steps, name=key)
                continue
            if spec.stage not in WORDED_STAGES:
                self.say("code_stage", steps, name=code)
                continue
            names = template_names(template)
            shown = "、".join("{%s}" % n for n in sorted(allowed | {"fix"}))
            for name in sorted(names - allowed - {"fix"} - set(phrases())) if names is not None else ["{"]:
                self.say("template_field", steps, name=name, known=shown)


def reference_problems(file: str, ref: dict, schema: dict, campaigns: list[tuple[str, dict]]) -> Iterator[str]:
    """A list's rows whose ``type`` is not a type of a campaign that takes its units from the list."""
    for campaign_id, doc in campaigns:
        types = [t["id"] for t in doc.get("recommender_types", [])]
        if not types:
            continue
        for i, row in enumerate(ref.get("recommenders", [])):
            if row.get("type") not in types:
                yield message("DATA_REFERENCE", "type", file=file, place=place(("recommenders", i, "type"), schema),
                              name=row.get("type"), campaign=campaign_id, known="、".join(types))


def missing_files(file: str, schema: dict, root: Path, fdef: dict, i: int) -> list[str]:
    """The form's template (and the templates of its earlier versions) that are not where the campaign says."""
    out = []
    wanted = [(("forms", i, "template"), fdef.get("template"))] + [
        (("forms", i, "versions", j, "template"), v.get("template")) for j, v in enumerate(fdef.get("versions", []))]
    for steps, name in wanted:
        if name and not (root / "templates" / name).is_file():
            out.append(message("DATA_REFERENCE", "file", file=file, place=place(steps, schema),
                               name=f"templates/{name}"))
    return out
