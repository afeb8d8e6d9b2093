"""deploy/jth.env.example documents every setting the service reads: a setting added to the code and not to the
file an operator copies would be one nobody finds."""

from __future__ import annotations

import re

from tests.support.samples import ROOT

EXAMPLE = ROOT / "deploy" / "jth.env.example"
# Set by the service itself from another setting, never by an operator.
DERIVED = {"JTH_SESSION_COOKIE_SECURE"}


def _read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "service").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for key in re.findall(r"config(?:\.get\(|\[)\"([A-Z][A-Z0-9_]+)\"", text):
            names.add(key if key == "DATABASE_URL" else f"JTH_{key}")  # Flask's from_prefixed_env("JTH")
        names.update(re.findall(r"environ(?:\.get\(|\[)\"([A-Z][A-Z0-9_]+)\"", text))
        names.update(re.findall(r"_env_number\(\"([A-Z][A-Z0-9_]+)\"", text))
    return names - DERIVED


def test_every_setting_the_code_reads_is_in_the_example_environment_file():
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", EXAMPLE.read_text(encoding="utf-8"), re.MULTILINE))
    read = _read_by_the_code()
    assert {"DATABASE_URL", "JTH_FILE_STORE", "JTH_MAIL_SERVER", "JTH_PROXY_HOPS"} <= read  # the scan finds them
    assert read - documented == set()
