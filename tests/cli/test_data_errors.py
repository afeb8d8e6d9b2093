"""A mistake an operator makes in the data files ends every command with a Chinese message that names the file and
the place: never a Python traceback."""

from __future__ import annotations

import json
import shutil

import pytest

from service import create_app
from service.forms import catalog as catalog_module
from tests.support.samples import ROOT


@pytest.fixture
def broken_install(tmp_path, monkeypatch):
    """A copy of the installation's data with one mistake: a form's template file that does not exist."""
    root = tmp_path / "install"
    for part in ("data", "schemas", "templates"):
        shutil.copytree(ROOT / part, root / part)
    path = root / "data" / "campaigns" / "jth-2020.json"
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["forms"][0]["template"] = "docx/recommendation_letter_2021.docx"
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=2), encoding="utf-8")
    catalog_module.catalog.cache_clear()
    monkeypatch.setattr(catalog_module.load_catalog, "__defaults__", (root,))
    yield root
    catalog_module.catalog.cache_clear()


@pytest.mark.parametrize("args", [["forms", "list"], ["forms", "check"], ["init-db"]])
def test_a_missing_template_stops_each_command_with_its_file_and_place(broken_install, tmp_path, args):
    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
                      "FILE_STORE": str(tmp_path / "files")})
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 1, result.output
    assert "数据文件有误" in result.output
    assert "data/campaigns/jth-2020.json" in result.output and "recommendation_letter_2021.docx" in result.output
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
