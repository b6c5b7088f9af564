#!/usr/bin/env bash
# Quick start 2: set up the full development environment (all extras, CPU torch) and run the whole test suite.
# .ci/run calls exactly this script.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/_venv.sh
# torch first, pinned: an unpinned torch (or one pulled in by diffusers/accelerate) is a multi-GB CUDA build.
pip_install "torch==2.13.0"
pip_install --config-settings editable_mode=compat -e ".[test]"
"$VENV/bin/python" -c "import torch, sys; assert torch.__version__.startswith('2.13.0'), torch.__version__" 
"$VENV/bin/ruff" check ttv tests benchmarks scripts
"$VENV/bin/mypy" ttv
# Two workers for the two cores; pytest's own exit code (5 = no tests collected) fails the run.
exec "$VENV/bin/python" -m pytest -n 2 -q "$@"
