#!/usr/bin/env bash
# Install what the service needs on a fresh Debian 12 machine: Debian packages and a venv with pinned packages.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS="libreoffice-writer-nogui libreoffice-calc-nogui python3-uno wkhtmltopdf fonts-noto-cjk fonts-dejavu-core poppler-utils ${EXTRA_DEBS:-}"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  echo "安装系统软件包:$missing"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check -r "${1:-requirements.txt}"
