#!/usr/bin/env bash
# Set up .venv: a CPU build of PyTorch first, then the package with its training, test and Ray extras,
# then the int8 model. A plain `pip install torch` would pull a multi-GB CUDA build, so torch comes
# from PyTorch's own CPU wheel index when it is reachable, else as the pinned CPU build (which some
# machines hold as a local wheel). Set TORCH_SPEC to install another torch requirement instead.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
TORCH_CPU_INDEX=${TORCH_CPU_INDEX:-https://download.pytorch.org/whl/cpu}
TORCH_PINNED=${TORCH_PINNED:-torch==2.13.0}
started=$SECONDS
step() { echo "setup [$((SECONDS - started))s]: $*"; }

step "1/4 virtual environment .venv"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
PIP=(.venv/bin/python -m pip -q --disable-pip-version-check)

if .venv/bin/python -c "import torch" 2>/dev/null; then
    step "2/4 PyTorch already installed: $(.venv/bin/python -c 'import torch; print(torch.__version__)')"
elif [ -n "${TORCH_SPEC:-}" ]; then
    step "2/4 PyTorch: $TORCH_SPEC (from TORCH_SPEC; a few minutes)"
    "${PIP[@]}" install "$TORCH_SPEC"
elif .venv/bin/python - "$TORCH_CPU_INDEX" <<'PY'
import sys, urllib.request
try:
    urllib.request.urlopen(sys.argv[1].rstrip("/") + "/torch/", timeout=8)
except Exception:
    sys.exit(1)
PY
then
    step "2/4 PyTorch: CPU build from PyTorch's CPU wheel index $TORCH_CPU_INDEX (a few minutes)"
    "${PIP[@]}" install --index-url "$TORCH_CPU_INDEX" "torch>=2.4"
else
    step "2/4 PyTorch: $TORCH_CPU_INDEX is unreachable; installing the pinned CPU build $TORCH_PINNED"
    "${PIP[@]}" install "$TORCH_PINNED"
fi

step "3/4 the package and its train, dev and ray extras (a few minutes on a new machine)"
"${PIP[@]}" install -e ".[train,dev,ray]"
.venv/bin/python -c "import moderation, torch; print('set up: news-moderation', moderation.__version__, '| torch', torch.__version__)"

# Build the default (int8) backend's model once now, so the first screen starts in under a second.
step "4/4 building the int8 model"
.venv/bin/moderation prepare
step "done"
