#!/usr/bin/env bash
# Wheels that a bare GPU machine with only PyTorch (and transformers/accelerate) lacks for
# benchmarks/gpu_wan.py: diffusers and pydantic (ttv's option models), at the versions of this venv,
# for CPython 3.12 on x86-64 Linux. They go to .whl/ (ignored by git); on the GPU machine:
#
#   python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
#       --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site && \
#   PYTHONUNBUFFERED=1 python3 benchmarks/gpu_wan.py --steps 20 --json "$OUT/gpu_wan.json"
#
# Usage: bash benchmarks/gpu_wheels.sh [PYTHON_VERSION]   (default 3.12, the GPU image's python3)
set -euo pipefail
cd "$(dirname "$0")/.."
PYV="${1:-3.12}"
PY="${PYTHON:-.venv/bin/python}"
mkdir -p .git/info
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
version() { "$PY" -c "import importlib.metadata as m, sys; print(m.version(sys.argv[1]))" "$1"; }
rm -rf .whl && mkdir .whl
"$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
  --python-version "$PYV" --implementation cp \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
  -d .whl \
  "diffusers==$(version diffusers)" "pydantic==$(version pydantic)" "pydantic-core==$(version pydantic_core)" \
  "annotated-types==$(version annotated-types)" "typing-inspection==$(version typing-inspection)" \
  "typing-extensions==$(version typing_extensions)" importlib-metadata 2>&1 | grep -v "^WARNING: Location" || true
ls -1 .whl
du -sh .whl
