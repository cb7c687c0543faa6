#!/usr/bin/env bash
# Installs docfoundry and everything it uses into ./.venv (or $DOCFOUNDRY_VENV), offline-model ready.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${DOCFOUNDRY_VENV:-.venv}"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e ".[all,dev]"
echo "installed into $VENV: run '$VENV/bin/docfoundry --help'"
