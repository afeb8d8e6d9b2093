#!/usr/bin/env bash
# Set up and run every check: lint, import contracts, the generated error reference, template anchors, the test suite (real LibreOffice, no mocks) on SQLite,
# then every test that reaches the database again on PostgreSQL (Debian's cluster, started here; tests/conftest.py
# selects them; JTH_PG_EVERYTHING=1 runs the whole suite there too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
export FONTCONFIG_FILE="$PWD/config/fonts.conf"
.venv/bin/ruff check service tests tools bench wsgi.py
.venv/bin/lint-imports
.venv/bin/python -m service.problems.docs --check
.venv/bin/flask --app wsgi forms check
echo "== 测试（SQLite）=="
.venv/bin/python -m pytest -q "$@"
# A failed start must stop the run here: an empty DATABASE_URL would quietly run the suite on SQLite again.
url=$(bash scripts/pg.sh | tail -n 1)
[[ "$url" == postgresql* ]] || { echo "PostgreSQL 未能启动" >&2; exit 1; }
echo "== 测试（PostgreSQL，${url##*@}）=="
DATABASE_URL="$url" .venv/bin/python -m pytest -q "$@"
