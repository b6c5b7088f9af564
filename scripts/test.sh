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
# Veo's Gemini Developer API route needs google-genai<3 (the main venv has 3.x and skips those tests):
# they run in a small side venv (core deps + google-genai 2.x + pytest, no torch).
bash scripts/check_veo_gemini.sh
# Two workers for the two cores; pytest's own exit code (5 = no tests collected) fails the run.
exec "$VENV/bin/python" -m pytest -n 2 -q "$@"
