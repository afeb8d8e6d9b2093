#!/usr/bin/env bash
# Run one of the README's commands as a newcomer would: in a fresh Debian made with debootstrap (nothing but
# ca-certificates, git and curl), with the project's committed HEAD cloned into it, as root in a chroot.
#   scripts/fresh-debian.sh test RELEASE COMMAND        run COMMAND, exit with its status
#   scripts/fresh-debian.sh run RELEASE COMMAND PORT    start COMMAND, wait until http://127.0.0.1:PORT/healthz
#                                                       answers 200, stop it; exit 0 only if it answered
# RELEASE is bookworm (12) or trixie (13). The base system is made once per machine and kept in $FRESH_CACHE; every
# call copies it anew, so nothing from an earlier run survives. Downloaded .deb files and pip's wheel cache are kept
# between runs (a download cache changes nothing that gets installed: a missing install step still fails).
# Everything started inside is stopped (its process group, then any process whose root is the copy) and every
# mount is undone, also when the run fails or is interrupted.
set -uo pipefail
mode=${1:?usage: fresh-debian.sh test|run RELEASE COMMAND [PORT]}
release=${2:?release: bookworm or trixie}
cmd=${3:?command}
port=${4:-}
timeout_s=${FRESH_TIMEOUT:-1500}
top=$(git -C "$(dirname "$0")" rev-parse --show-toplevel) || exit 2
cache=${FRESH_CACHE:-/var/cache/jth-fresh}
base=$cache/base-$release
mkdir -p "$cache/apt-$release" "$cache/pip"
say() { echo "[fresh $release $mode] $*"; }

command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; } || exit 2
if [ ! -x "$base/bin/bash" ]; then
  say "making a minimal Debian $release in $base"
  rm -rf "$base.tmp"
  debootstrap --variant=minbase --include=ca-certificates,git,curl "$release" "$base.tmp" \
    http://deb.debian.org/debian >"$base.log" 2>&1 || { say "debootstrap failed: $base.log"; exit 2; }
  mv "$base.tmp" "$base"
fi

root=$(mktemp -d "${TMPDIR:-/var/tmp}/fresh-$release-$mode.XXXXXX")
mounts=(proc sys dev dev/pts var/cache/apt/archives root/.cache/pip)
pgid=""
cleanup() {
  [ -n "$pgid" ] && { kill -TERM -- "-$pgid" 2>/dev/null; sleep 2; kill -KILL -- "-$pgid" 2>/dev/null; }
  # Daemons that left the process group (PostgreSQL, soffice …): anything whose root is this copy.
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
  done
  sleep 1
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    mountpoint -q "$root/${mounts[i]}" && umount -l "$root/${mounts[i]}"
  done
  for m in "${mounts[@]}"; do mountpoint -q "$root/$m" && { say "still mounted: $root/$m"; return; }; done
  rm -rf --one-file-system "$root"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cp -a "$base/." "$root/"
# This machine's resolver, CA bundle and pip settings, so the package registries answer as they do here.
cp /etc/resolv.conf "$root/etc/resolv.conf"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$root/etc/pip.conf"
mkdir -p "$root/var/cache/apt/archives" "$root/root/.cache/pip"
mount -t proc proc "$root/proc"
mount --bind /sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount --bind "$cache/apt-$release" "$root/var/cache/apt/archives"
mount --bind "$cache/pip" "$root/root/.cache/pip"
git clone -q "$top" "$root/root/project" || exit 2
say "Debian $(cat "$root/etc/debian_version") at $root; project $(git -C "$top" rev-parse --short HEAD)"
inside="cd /root/project && export PIP_CERT=/etc/ssl/certs/ca-certificates.crt PORT=$port && $cmd"
start=$SECONDS

if [ "$mode" = test ]; then
  setsid timeout "$timeout_s" chroot "$root" /bin/bash -c "$inside" </dev/null &
  pgid=$!
  wait "$pgid"; rc=$?
  pgid=""
  say "'$cmd' exited $rc after $((SECONDS - start)) s"
  exit "$rc"
fi

[ -n "$port" ] || { say "run needs a port"; exit 2; }
log=$root.log
setsid chroot "$root" /bin/bash -c "$inside" </dev/null >"$log" 2>&1 &
pgid=$!
while ((SECONDS - start < timeout_s)); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")
  if [ "$code" = 200 ] && kill -0 "$pgid" 2>/dev/null; then
    say "http://127.0.0.1:$port/healthz answered 200 after $((SECONDS - start)) s"; tail -n 3 "$log"; rm -f "$log"; exit 0
  fi
  kill -0 "$pgid" 2>/dev/null || { say "'$cmd' ended before /healthz answered:"; tail -n 30 "$log"; exit 1; }
  sleep 3
done
say "/healthz did not answer within $timeout_s s:"; tail -n 30 "$log"; exit 1
