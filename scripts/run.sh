#!/usr/bin/env bash
# Set up and start the service on its embedded defaults (no other server needed).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh run
export FONTCONFIG_FILE="$PWD/config/fonts.conf"
.venv/bin/flask --app wsgi forms check
.venv/bin/flask --app wsgi init-db
.venv/bin/flask --app wsgi users ensure-admin
echo "服务地址: http://127.0.0.1:${PORT:-5000}/  登录: http://127.0.0.1:${PORT:-5000}/login  （API: /api/v1/openapi.json）"
echo "推荐单位账号: .venv/bin/flask --app wsgi users create 用户名 --role recommender --entity edu-ln"
export JTH_JOBS_AUTOSTART=true
exec .venv/bin/gunicorn --bind "127.0.0.1:${PORT:-5000}" --workers 2 --threads 4 wsgi:app
