#!/usr/bin/env bash
# Set up and run every check: lint, import contracts, the generated error reference, template anchors, the test suite (real LibreOffice, no mocks) on SQLite,
# then the same suite again on PostgreSQL (Debian's cluster, started here).
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
echo "== 测试（PostgreSQL）=="
DATABASE_URL="$(bash scripts/pg.sh | tail -n 1)" .venv/bin/python -m pytest -q "$@"
