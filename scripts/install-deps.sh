#!/usr/bin/env bash
# Installs the system packages the tests and the sandbox need, only when
# their binaries are missing: MariaDB server, client and backup tools, zstd,
# protoc (the test that the generated protobuf code is current needs it)
# and Prometheus. Idempotent; prints what it does and why it cannot.
#
# Usage: scripts/install-deps.sh [extra binaries to require...]
set -euo pipefail

# binary -> Debian package
declare -A pkg=(
  [mariadbd]=mariadb-server
  [mariadb-install-db]=mariadb-server
  [mariadb]=mariadb-client
  [mariabackup]=mariadb-backup
  [mbstream]=mariadb-backup
  [zstd]=zstd
  [prometheus]=prometheus
  [promtool]=prometheus
  [protoc]=protobuf-compiler
  [sysbench]=sysbench
  [chromium]=chromium
)
want=(mariadbd mariadb-install-db mariadb mariabackup mbstream zstd prometheus protoc "$@")

missing=()
for bin in "${want[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$bin" ] && [ ! -x "/usr/bin/$bin" ]; then
    missing+=("${pkg[$bin]:-$bin}")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-deps: missing ${missing[*]} and there is no apt-get here; install them by hand" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing ${missing[*]}; installing needs root: run 'sudo apt-get install -y ${missing[*]}' (or run make as root)" >&2
  exit 1
fi

echo "install-deps: installing ${missing[*]}"
# Keep package scripts from starting system services: tests start private
# servers of their own. The guard is removed again if we created it.
created_policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
trap '[ -n "$created_policy" ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
