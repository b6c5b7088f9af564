#!/usr/bin/env bash
# Quick start 1: set up ttv (core install, no GPU/keys/network needed) and make a film with the offline backends.
# Usage: bash scripts/demo.sh [PROJECT_DIR]   (default: demo-film). Re-running resumes and does nothing new.
set -euo pipefail
DIR="$(realpath -m "${1:-$(dirname "$0")/../demo-film}")"
cd "$(dirname "$0")/.."
source scripts/_venv.sh
# The core install is enough for the offline backends: no torch, no SDKs.
pip_install --config-settings editable_mode=compat -e .
if [ ! -f "$DIR/ttv.toml" ]; then
  "$VENV/bin/ttv" init "$DIR" --mode keyframe --duration 30 --segments 6 --width 1280 --height 720 --fps 24 \
    --idea "A lighthouse keeper finds a message in a bottle. She follows its map across a stormy sea. On a tiny island she finds the writer, her lost brother. At dawn they sail home together."
fi
"$VENV/bin/ttv" run -p "$DIR"
"$VENV/bin/ttv" status -p "$DIR"
echo "film: $DIR/final.mp4"
