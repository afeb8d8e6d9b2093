"""Campaigns, forms, schemas and reference lists, loaded from the data files.

Everything the notices define is data (``data/campaigns``, ``data/reference``, ``schemas``, ``templates``),
so a new call needs new files, not new code. A catalogue, once read, is immutable.

Every file is checked before anything uses it: a campaign and a list against their schemas in ``data/schemas``
(:mod:`service.forms.datafile`), what a campaign refers to (:mod:`service.forms.campaign_check`), a form's schema
for keywords and formats the validator would ignore (:mod:`service.forms.keywords`) and for a change that kept its
version (:mod:`service.forms.versions`). All mistakes found are raised together as one :class:`DataError`, each
naming its file and place in Chinese.

Over the shipped data an installation may lay a folder of its own (the instance layer, ``instance/forms-data``:
``data/campaigns``, ``schemas``, ``templates``), where the form designer publishes forms (:func:`load_catalog`'s
``layer``). A campaign file there either defines a new campaign or, when its ``id`` is a shipped campaign's, holds
only ``id`` and ``forms``: the forms it adds to that campaign. Each file names schemas and templates in its own
folder. The process-wide :data:`catalog` reads the layer again when one of its files changed, so every process of
the service sees a publication.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from service.forms import datafile
from service.forms.campaign_check import CampaignCheck, list_ids, missing_files, reference_problems
from service.forms.datafile import DataError, read_json, shown_path
from service.forms.fields import Field, schema_fields
from service.forms.keywords import unchecked_formats, unknown_keywords
from service.forms.versions import fingerprint, next_version
from service.problems.catalogue import message

# jsonschema's format checks, with one stricter: its "email" only looks for an @, so “zhangxm@lnpc.edu.cn。”
# (a full stop typed after the address) passed. An address here is local@domain.tld in ASCII.
FORMAT_CHECKER = FormatChecker(formats=())
FORMAT_CHECKER.checkers = dict(Draft202012Validator.FORMAT_CHECKER.checkers)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}")
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


@FORMAT_CHECKER.checks("email")
def _email(value: object) -> bool:
    return not isinstance(value, str) or _EMAIL.fullmatch(value) is not None

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent.parent
DATA = ROOT / "data"


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
    earlier: dict[str, Form] = field(default_factory=dict)  # earlier versions kept to read files issued under them

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

    @property
    def is_valid(self) -> Callable[[Any], bool]:
        """Whether a record is valid: decided by the draft 2020-12 validator itself, so it cannot differ from the
        schema (about 0.2–0.5 ms a record with these forms; a file takes far longer to read). The load refuses a
        schema with a keyword or a format the validator would ignore (:mod:`service.forms.keywords`)."""
        return self.validator.is_valid

    def at(self, version: str) -> Form:
        """This form as it was at ``version`` when that version is kept, else the form as it is now."""
        return self.earlier.get(version, self)


@dataclass(frozen=True, eq=False)
class Campaign:
    """A call for submissions (one notice): its facts, rules and forms."""

    id: str
    data: dict
    forms: dict[str, Form] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.data["title"]

    @property
    def basis(self) -> str:
        """What the pages' footer names as the basis of this call (its notice's number, unless the data says)."""
        return self.data.get("texts", {}).get("basis") or self.data.get("document_number", "")

    @property
    def excluded_lists(self) -> list[str]:
        """The lists whose groups may not be put forward in this call (one id or several in the data)."""
        return list_ids(self.data.get("excluded_groups"))

    def recommender_type(self, type_id: str) -> dict | None:
        return next((t for t in self.data.get("recommender_types", []) if t["id"] == type_id), None)

    def wording(self, code: str, variant: str | None = None) -> str | None:
        """This campaign's own message for ``code`` (``CODE.variant`` for a variant), when its data gives one."""
        return self.data.get("messages", {}).get(f"{code}.{variant}" if variant else code)


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

    def list_title(self, source: str) -> str:
        """What messages call list ``source``: its own title (第一批名单), else its source, else its id."""
        ref = self.reference.get(source, {})
        return ref.get("title") or ref.get("source") or source

    def unit_lists(self) -> list[str]:
        """The lists whose units may have accounts: every list a campaign takes submitters, supervisors, the
        entities of its forms or its eligible groups from, in the order the campaigns name them."""
        named: list[str] = []
        for c in self.campaigns.values():
            named += [c.data.get("submitters", ""), c.data.get("eligible_groups", "")]
            named += [row.get("source", "") for row in c.data.get("supervisors", [])]
            named += [f.settings.get("entity", {}).get("source", "") for f in c.forms.values()]
        return [s for s in dict.fromkeys(named) if s in self.reference]

    def unit(self, entity_id: str) -> tuple[str, dict] | None:
        """(list, row) of the unit ``entity_id`` on a list a campaign names, or None."""
        for source in self.unit_lists():
            for row in self.entities(source):
                if row.get("id") == entity_id:
                    return source, row
        return None


def _form_schema(root: Path, name: str, problems: list[str], base: Path | None = None) -> dict | None:
    """A form's schema, checked: valid draft 2020-12, and nothing in it the validator would ignore. ``base``: what
    the file's name is shown relative to (the installation; the layer's parent for a file of the layer)."""
    path = root / "schemas" / name
    file = shown_path(base or root, path)
    try:
        schema = read_json(path, base or root)
    except DataError as exc:
        problems += exc.problems
        return None
    if not isinstance(schema, dict):
        problems.append(message("FORM_SCHEMA_INVALID", "schema", file=file, place="文件的最外层", keyword="type"))
        return None
    found: list[str] = []
    if schema.get("$schema") != DRAFT_2020_12:
        found.append(message("FORM_SCHEMA_INVALID", "draft", file=file, written=str(schema.get("$schema", "（没有写）"))))
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        found.append(message("FORM_SCHEMA_INVALID", "schema", file=file, place=datafile.place(exc.absolute_path),
                             keyword=str(exc.validator)))
    for steps, keyword in unknown_keywords(schema):
        found.append(message("FORM_SCHEMA_INVALID", "keyword", file=file, place=datafile.place(steps),
                             keyword=keyword))
    for steps, name_ in unchecked_formats(schema, set(FORMAT_CHECKER.checkers)):
        found.append(message("FORM_SCHEMA_INVALID", "format", file=file, place=datafile.place(steps), format=name_,
                             formats="、".join(sorted(FORMAT_CHECKER.checkers))))
    problems += found
    return None if found else schema


def _versions(root: Path, file: str, campaign_schema: dict, i: int, fdef: dict, schema: dict,
              problems: list[str], base: Path | None = None) -> dict[str, dict]:
    """The earlier versions' schemas kept for form ``fdef`` (version → schema); a changed schema that kept its
    registered version number is a problem."""
    current, earlier = schema.get("x-version", "1.0.0"), {}
    for j, v in enumerate(fdef.get("versions", [])):
        if v["version"] == current:
            if v["fingerprint"] != fingerprint(schema):
                shown = shown_path(base or root, root / "schemas" / fdef["schema"])
                problems.append(message("FORM_VERSION_REUSED", file=shown,
                                        version=current, next=next_version(current), fingerprint=fingerprint(schema)))
            continue
        if "schema" not in v:
            continue
        old = _form_schema(root, v["schema"], problems, base)
        if old is None:
            continue
        where = datafile.place(("forms", i, "versions", j), campaign_schema)
        if old.get("x-version", "1.0.0") != v["version"] or fingerprint(old) != v["fingerprint"]:
            problems.append(message("DATA_INVALID", "explained", file=file, place=where, explained=(
                f"schemas/{v['schema']} 的 x-version 是 {old.get('x-version', '1.0.0')}、指纹是 {fingerprint(old)}，"
                f"与这里登记的 {v['version']} 版不一致。")))
            continue
        earlier[v["version"]] = old
    return earlier


def _form(root: Path, campaign_id: str, fdef: dict, schema: dict, template: str, earlier: dict[str, Form]) -> Form:
    return Form(campaign_id=campaign_id, id=fdef["id"], title=fdef["title"], annex=fdef.get("annex", ""),
                schema=schema, template_path=root / "templates" / template, settings=fdef, earlier=earlier)


@dataclass(frozen=True)
class _Home:
    """Where a form's files are (``root``: its ``schemas/`` and ``templates/``) and what their names are shown
    relative to (``base``: the installation, or the layer's parent, so that a file of the layer reads
    ``forms-data/schemas/…``)."""

    root: Path
    base: Path


@dataclass
class _Doc:
    """One campaign as read: its file (as shown), its content, where each of its forms' files are, and the layer's
    files that added forms to it."""

    file: str
    doc: dict
    homes: list[_Home]
    added: list[str] = field(default_factory=list)


def _addition_validator(campaign_schema: dict) -> Draft202012Validator:
    """The shape of a layer file that adds forms to a shipped campaign: its ``id`` and ``forms`` only, each
    checked as the campaign schema checks them."""
    props = campaign_schema["properties"]
    return Draft202012Validator({
        "type": "object", "title": "增加到征集活动的表单", "required": ["id", "forms"], "additionalProperties": False,
        "properties": {"id": props["id"], "forms": props["forms"]},
    }, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _read_layer(layer: Path, docs: list[_Doc], campaign_schema: dict, campaign_validator: Draft202012Validator,
                problems: list[str]) -> None:
    """The layer's campaign files into ``docs``: a new campaign, or forms added to a shipped one."""
    home = _Home(layer, layer.parent)
    shipped = {}
    for d in docs:
        shipped.setdefault(d.doc["id"], d)
    addition = _addition_validator(campaign_schema)
    for path in sorted((layer / "data" / "campaigns").glob("*.json")):
        file = shown_path(layer.parent, path)
        try:
            raw = read_json(path, layer.parent)
            target = shipped.get(raw["id"]) if isinstance(raw, dict) and isinstance(raw.get("id"), str) else None
            doc = datafile.checked(path, layer.parent, addition if target else campaign_validator)
        except DataError as exc:
            problems += exc.problems
            continue
        if target is None:
            docs.append(_Doc(file, doc, [home] * len(doc["forms"])))
            continue
        target.doc = {**target.doc, "forms": [*target.doc["forms"], *doc["forms"]]}
        target.homes = [*target.homes, *[home] * len(doc["forms"])]
        target.added.append(file)


def load_catalog(root: Path = ROOT, *, layer: Path | None = None) -> Catalog:
    """Read and check every data file, with the instance ``layer`` laid over the shipped ones when given; DataError
    (a ValueError) naming each file, place and mistake when one is wrong, so no command starts on data it would
    misread."""
    data = root / "data"
    problems: list[str] = []
    ref_schema = read_json(data / "schemas" / "reference.schema.json", root)
    campaign_schema = read_json(data / "schemas" / "campaign.schema.json", root)
    ref_validator = Draft202012Validator(ref_schema)
    campaign_validator = Draft202012Validator(campaign_schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    reference: dict[str, dict] = {}
    for path in sorted((data / "reference").glob("*.json")):
        try:
            reference[path.stem] = datafile.checked(path, root, ref_validator)
        except DataError as exc:
            problems += exc.problems
    docs: list[_Doc] = []
    for path in sorted((data / "campaigns").glob("*.json")):
        try:
            doc = datafile.checked(path, root, campaign_validator)
        except DataError as exc:
            problems += exc.problems
            continue
        docs.append(_Doc(shown_path(root, path), doc, [_Home(root, root)] * len(doc["forms"])))
    if layer is not None:
        _read_layer(layer, docs, campaign_schema, campaign_validator, problems)
    campaigns: dict[str, Campaign] = {}
    for d in docs:
        doc, homes = d.doc, d.homes
        # A shipped campaign with forms added in the layer: a problem names both files (places count the forms of
        # both, the shipped ones first).
        file = f"{d.file}（及 {'、'.join(d.added)} 增加的表单）" if d.added else d.file
        if doc["id"] in campaigns:
            problems.append(message("DATA_REFERENCE", "duplicate", file=file, place="id（编号）", name=doc["id"],
                                    known=f"征集活动“{campaigns[doc['id']].title}”"))
            continue
        schemas = {}
        for i, fdef in enumerate(doc["forms"]):
            schema = _form_schema(homes[i].root, fdef["schema"], problems, homes[i].base)
            problems += missing_files(file, campaign_schema, homes[i].root, fdef, i)
            if schema is not None:
                schemas[fdef["id"]] = schema
        problems += CampaignCheck(file, doc, campaign_schema, reference, schemas).run()
        campaign = Campaign(id=doc["id"], data=doc)
        for i, fdef in enumerate(doc["forms"]):
            if fdef["id"] not in schemas:
                continue
            home = homes[i]
            earlier = _versions(home.root, file, campaign_schema, i, fdef, schemas[fdef["id"]], problems, home.base)
            kept = {v["version"]: _form(home.root, doc["id"], fdef, earlier[v["version"]], v["template"], {})
                    for v in fdef.get("versions", []) if v["version"] in earlier}
            campaign.forms[fdef["id"]] = _form(home.root, doc["id"], fdef, schemas[fdef["id"]], fdef["template"],
                                               kept)
        campaigns[doc["id"]] = campaign
    for source, ref in reference.items():
        users = [(c.id, c.data) for c in campaigns.values() if c.data.get("submitters") == source]
        problems += reference_problems(shown_path(root, data / "reference" / f"{source}.json"), ref, ref_schema, users)
    if problems:
        raise DataError(problems)
    return Catalog(campaigns=campaigns, reference=reference)


def layer_signature(layer: Path | None) -> tuple:
    """What changes when a file of the layer changes: the name, size, inode and modification time of each of its
    files (a publication replaces files; an edit rewrites one). A few stat calls: cheap enough to ask often."""
    if layer is None:
        return ()
    seen = []
    for folder, dirs, files in os.walk(layer):
        dirs.sort()
        for name in sorted(files):
            try:
                st = os.stat(os.path.join(folder, name))
            except OSError:  # replaced while looking: the next look sees the new one
                continue
            seen.append((folder, name, st.st_size, st.st_ino, st.st_mtime_ns))
    return tuple(seen)


class ProcessCatalog:
    """The process-wide catalogue: the shipped data files, with the instance layer over them when one is set
    (:meth:`use_layer`, by the app at start). Read on first use; read again when a file of the layer changed
    (:func:`layer_signature`, looked at no more than once a second), so that a form published by one process of
    the service is seen by all of them within a second; :meth:`cache_clear` reads again at the next use. A layer
    edited by hand into data that does not load leaves a running process on the data it had (the error logged);
    the first load of a process raises, as the shipped data's mistakes do."""

    LOOK_EVERY = 1.0  # seconds between two looks at the layer's files

    def __init__(self) -> None:
        self.layer: Path | None = None
        self._lock = threading.Lock()
        self._loaded: tuple[tuple, Catalog] | None = None
        self._refused: tuple | None = None  # a signature of the layer whose files did not load
        self._looked_at = 0.0

    def __call__(self) -> Catalog:
        loaded = self._loaded
        if loaded is not None and (self.layer is None or time.monotonic() - self._looked_at < self.LOOK_EVERY):
            return loaded[1]
        with self._lock:
            signature = layer_signature(self.layer)
            self._looked_at = time.monotonic()
            if self._loaded is not None and signature in (self._loaded[0], self._refused):
                return self._loaded[1]
            try:
                cat = load_catalog(layer=self.layer)
            except DataError as exc:
                if self._loaded is None:
                    raise
                # The layer was changed by hand and is wrong now: keep serving what was right, say so in the log,
                # and read again when its files change (a publication is checked before it is written).
                self._refused = signature
                log.error("实例目录 %s 中的数据有误，继续使用改动前的数据：\n%s", self.layer, exc)
                return self._loaded[1]
            self._loaded, self._refused = (signature, cat), None
            return cat

    def use_layer(self, layer: Path | None) -> None:
        """Lay the folder ``layer`` (None: none) over the shipped data from now on."""
        with self._lock:
            if layer != self.layer:
                self.layer, self._loaded = layer, None

    def cache_clear(self) -> None:
        """Read the data files again at the next use (after a publication in this process, or in tests)."""
        with self._lock:
            self._loaded = None


#: The process-wide catalogue: ``catalog()``.
catalog = ProcessCatalog()


def forms_layer(app: Any) -> Path | None:
    """Where the form designer publishes and the catalogue reads published forms, for an app (anything with
    ``config`` and ``instance_path``): ``FORMS_DATA`` (an empty value: nowhere), default ``instance/forms-data``.
    One function, so the pages, the command line and the backup agree."""
    value = app.config.get("FORMS_DATA")
    if value is None:
        return Path(app.instance_path) / "forms-data"
    return Path(value) if str(value) else None
