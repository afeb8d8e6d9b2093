"""Campaigns, forms, schemas and reference lists, loaded from the data files.

Everything the notices define is data (``data/campaigns``, ``data/reference``, ``schemas``, ``templates``),
so a new call needs new files, not new code. The catalogue is read once per process and is immutable.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema
from jsonschema import Draft202012Validator, FormatChecker

from service.forms.fields import Field, schema_fields

# jsonschema's format checks, with one stricter: its "email" only looks for an @, so “zhangxm@lnpc.edu.cn。”
# (a full stop typed after the address) passed. An address here is local@domain.tld in ASCII.
FORMAT_CHECKER = FormatChecker(formats=())
FORMAT_CHECKER.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}")


@FORMAT_CHECKER.checks("email")
def _email(value: object) -> bool:
    return not isinstance(value, str) or _EMAIL.fullmatch(value) is not None

ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "data"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True, eq=False)
class Form:
    """One form of one campaign: its schema, its template and the campaign's settings for it."""

    campaign_id: str
    id: str
    title: str
    annex: str
    schema: dict
    template_path: Path
    settings: dict

    @property
    def version(self) -> str:
        return self.schema.get("x-version", "1.0.0")

    @property
    def kind(self) -> str:
        """``docx`` or ``xlsx``: the template's format."""
        return self.template_path.suffix.lstrip(".")

    @functools.cached_property
    def fields(self) -> list[Field]:
        return schema_fields(self.schema)

    @functools.cached_property
    def validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.schema, format_checker=FORMAT_CHECKER)

    @functools.cached_property
    def is_valid(self) -> Callable[[Any], bool]:
        """A compiled yes/no check of a record, about 25 times faster than ``validator``.

        fastjsonschema compiles the schema to Python; the forms' schemas use only keywords it shares with draft
        2020-12, and every format is checked by jsonschema's own format checker, so "valid" here means valid
        there. Only a record this check rejects needs ``validator`` to say why.
        """
        checker = FORMAT_CHECKER
        formats = {name: functools.partial(_conforms, checker, name) for name in checker.checkers}
        schema = {k: v for k, v in self.schema.items() if k != "$schema"}
        compiled = fastjsonschema.compile({**schema, "$schema": "http://json-schema.org/draft-07/schema#"},
                                          formats=formats)

        def check(record: Any) -> bool:
            try:
                compiled(record)
            except fastjsonschema.JsonSchemaException:
                return False
            return True

        return check


@dataclass(frozen=True, eq=False)
class Campaign:
    """A call for submissions (one notice): its facts, rules and forms."""

    id: str
    data: dict
    forms: dict[str, Form] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.data["title"]

    def recommender_type(self, type_id: str) -> dict | None:
        return next((t for t in self.data.get("recommender_types", []) if t["id"] == type_id), None)


@dataclass(frozen=True, eq=False)
class Catalog:
    """All campaigns and reference lists known to this installation."""

    campaigns: dict[str, Campaign]
    reference: dict[str, dict]

    def campaign(self, campaign_id: str) -> Campaign:
        try:
            return self.campaigns[campaign_id]
        except KeyError:
            raise LookupError(f"未知的征集活动：{campaign_id}（可用：{'、'.join(self.campaigns)}）") from None

    def form(self, campaign_id: str, form_id: str) -> Form:
        campaign = self.campaign(campaign_id)
        try:
            return campaign.forms[form_id]
        except KeyError:
            raise LookupError(f"征集活动 {campaign_id} 没有表单 {form_id}（可用：{'、'.join(campaign.forms)}）") from None

    def entities(self, source: str) -> list[dict]:
        """Rows of a reference list usable as form entities (recommenders or groups)."""
        ref = self.reference[source]
        rows = ref.get("recommenders") or ref.get("groups") or []
        return rows

    def entity(self, source: str, entity_id: str) -> dict:
        for row in self.entities(source):
            if row.get("id") == entity_id:
                return row
        raise LookupError(f"名单 {source} 中没有编号为 {entity_id} 的单位")


def _conforms(checker: Any, name: str, value: Any) -> bool:
    return checker.conforms(value, name)


def _checked(path: Path, validator: Draft202012Validator) -> dict:
    """A data file's content, refused with the file's name and the first problem when it breaks its schema."""
    doc = _json(path)
    error = next(iter(validator.iter_errors(doc)), None)
    if error is not None:
        raise ValueError(f"{path}: {error.message}")
    return doc


def load_catalog(root: Path = ROOT) -> Catalog:
    """Read and check every data file; raise ValueError naming the file when one is invalid."""
    data = root / "data"
    ref_validator = Draft202012Validator(_json(data / "schemas" / "reference.schema.json"))
    campaign_validator = Draft202012Validator(
        _json(data / "schemas" / "campaign.schema.json"), format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    reference: dict[str, dict] = {}
    for path in sorted((data / "reference").glob("*.json")):
        reference[path.stem] = _checked(path, ref_validator)
    campaigns: dict[str, Campaign] = {}
    for path in sorted((data / "campaigns").glob("*.json")):
        doc = _checked(path, campaign_validator)
        for key in ("submitters", "excluded_groups", "eligible_groups"):
            if key in doc and doc[key] not in reference:
                raise ValueError(f"{path}: {key} 引用了不存在的名单 {doc[key]}")
        campaign = Campaign(id=doc["id"], data=doc)
        for fdef in doc["forms"]:
            schema = _json(root / "schemas" / fdef["schema"])
            Draft202012Validator.check_schema(schema)
            campaign.forms[fdef["id"]] = Form(
                campaign_id=doc["id"],
                id=fdef["id"],
                title=fdef["title"],
                annex=fdef.get("annex", ""),
                schema=schema,
                template_path=root / "templates" / fdef["template"],
                settings=fdef,
            )
        campaigns[doc["id"]] = campaign
    return Catalog(campaigns=campaigns, reference=reference)


@functools.cache
def catalog() -> Catalog:
    """The process-wide catalogue (data files do not change while the service runs)."""
    return load_catalog()
