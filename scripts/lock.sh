#!/usr/bin/env bash
# Make the lock files from the top-level requirements: every package, direct and transitive, pinned with the hashes
# of all its published files, for Python 3.11 (Debian 12) and 3.13 (Debian 13) alike (--universal writes markers
# where the two differ). Run after changing requirements.in or requirements-dev.in; commit the .txt files.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/uv ] || .venv/bin/python -m pip install -q "$(grep -E '^uv==' requirements-dev.in)"
compile() { .venv/bin/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes \
  --no-header --annotation-style line --output-file "$2" "$1"; }
compile requirements.in requirements.txt
compile requirements-dev.in requirements-dev.txt
echo "requirements.txt: $(grep -c '==' requirements.txt) packages; requirements-dev.txt: $(grep -c '==' requirements-dev.txt)"
