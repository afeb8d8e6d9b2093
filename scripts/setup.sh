#!/usr/bin/env bash
# Install what one of the README's commands needs on a fresh Debian 12 or 13, and only that:
#   setup.sh run   the service: LibreOffice (writer, calc, UNO), Noto CJK fonts, Pango for WeasyPrint, a venv
#                  with requirements.txt (the lock, hashes required)
#   setup.sh test  the same plus PostgreSQL, chromium (and libatomic1 for Playwright's node), poppler-utils, dovecot (IMAP),
#                  nginx and systemd's systemd-analyze (deploy/ is tested with them), redis-server (the Celery
#                  broker), iproute2 (the two-host test makes its hosts as network namespaces),
#                  wkhtmltopdf where the release still has it (Debian 12), and requirements-dev.txt
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-run}

DEBS="python3 python3-venv libreoffice-writer-nogui libreoffice-calc-nogui python3-uno fonts-noto-cjk fonts-dejavu-core
  libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0"
OPTIONAL=""
LOCK=requirements.txt
case "$profile" in
  run) ;;
  test)
    DEBS="$DEBS postgresql chromium libatomic1 poppler-utils dovecot-imapd nginx systemd redis-server iproute2"
    OPTIONAL="wkhtmltopdf"  # the second HTML → PDF engine, tested where the release ships it
    LOCK=requirements-dev.txt ;;
  *) echo "usage: setup.sh run|test" >&2; exit 2 ;;
esac

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
missing=""
for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
updated=""
if [ -n "$missing" ]; then
  echo "安装系统软件包:$missing"
  $SUDO apt-get update -qq && updated=1
fi
for p in $OPTIONAL; do
  dpkg -s "$p" >/dev/null 2>&1 && continue
  [ -n "$updated" ] || { $SUDO apt-get update -qq && updated=1; }
  # Read the whole answer first: grep -q closing the pipe early would fail it under pipefail (SIGPIPE).
  policy=$(apt-cache policy "$p" 2>/dev/null || true)
  if grep -q 'Candidate: [0-9]' <<<"$policy"; then missing="$missing $p"
  else echo "（本系统的软件源没有 $p，跳过）"; fi
done
if [ -n "$missing" ]; then
  log="${TMPDIR:-/tmp}/jth-apt-install.log"
  echo "apt-get install:$missing（日志: $log）"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing >"$log" 2>&1 ||
    { tail -n 40 "$log"; echo "系统软件包安装失败，详见 $log" >&2; exit 1; }
fi

PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r "$LOCK"
