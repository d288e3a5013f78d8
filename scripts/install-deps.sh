#!/usr/bin/env bash
# Installs the Debian packages polygate needs to build, test and run, if any are missing.
# Usage: scripts/install-deps.sh PACKAGE...
# Uses sudo when not root. The Swift toolchain itself is not a Debian package: it must be on PATH.
set -euo pipefail

if ! command -v swift >/dev/null 2>&1; then
    echo "error: 'swift' is not on PATH. Install Swift 6.x (https://swift.org/install) and retry." >&2
    exit 1
fi

missing=()
for package in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "Installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    as_root=()
elif command -v sudo >/dev/null 2>&1; then
    as_root=(sudo)
else
    echo "error: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq
"${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
