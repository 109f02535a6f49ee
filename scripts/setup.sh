#!/usr/bin/env bash
# Set up .venv with the CPU build of torch, the package and its training, test, Ray and ONNX extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}   # the CPU build; override for other machines
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip -q --disable-pip-version-check)
# torch first, so that no other requirement drags in a CUDA build.
.venv/bin/python -c "import torch" 2>/dev/null || "${PIP[@]}" install "$TORCH_SPEC"
"${PIP[@]}" install -e ".[train,dev,ray,onnx]"
.venv/bin/python -c "import moderation, torch; print('set up: torch', torch.__version__)"
# Build the default (int8) backend's model once now, so the first screen starts in under a second.
.venv/bin/moderation prepare
