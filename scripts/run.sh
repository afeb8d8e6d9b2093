#!/usr/bin/env bash
# Set up and start the service on its embedded defaults (no other server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh requirements.txt
export FONTCONFIG_FILE="$PWD/config/fonts.conf"
.venv/bin/flask --app wsgi forms check
.venv/bin/flask --app wsgi init-db
echo "服务地址: http://127.0.0.1:${PORT:-5000}/  （API: /api/v1/campaigns）"
exec .venv/bin/gunicorn --bind "127.0.0.1:${PORT:-5000}" --workers 2 --threads 4 wsgi:app
