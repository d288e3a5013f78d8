#!/usr/bin/env bash
# `make deb`: builds the binary package with dpkg-buildpackage (debian/rules: release binaries,
# static Swift runtime) and moves what it writes beside the tree into dist/.
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(dpkg-parsechangelog -S Version)
arch=$(dpkg --print-architecture)
dpkg-buildpackage -b -us -uc --no-sign
mkdir -p dist
for file in ../polygate_"$version"_"$arch".deb ../polygate_"$version"_"$arch".buildinfo ../polygate_"$version"_"$arch".changes \
    ../polygate-dbgsym_"$version"_"$arch".deb; do
    [ -f "$file" ] && mv -f "$file" dist/
done
echo "dist/polygate_${version}_${arch}.deb"
