#!/usr/bin/env bash
# Set up and run every check: lint, template anchors, the test suite (real LibreOffice, no mocks).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements-dev.txt
export FONTCONFIG_FILE="$PWD/config/fonts.conf"
.venv/bin/ruff check service tests tools bench wsgi.py
.venv/bin/flask --app wsgi forms check
.venv/bin/python -m pytest -q "$@"
