#!/usr/bin/env bash
# The Python packages the interop tests use (never polygate itself), in .build/pyvenv:
# noiseprotocol (an independent Noise implementation) and cryptography (Ed25519), pinned.
# Prints the interpreter's path. Needs python3-venv (scripts/install-deps.sh) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.build/pyvenv
packages=(noiseprotocol==0.3.1 cryptography==50.0.2)
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import noise, cryptography" 2>/dev/null; then
    rm -rf "$venv"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}" >&2 \
        || { echo "error: cannot install ${packages[*]} from PyPI into $venv" >&2; exit 1; }
fi
echo "$PWD/$venv/bin/python"
