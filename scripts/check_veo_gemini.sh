#!/usr/bin/env bash
# Run the Veo backend's Gemini Developer API tests (api = "gemini") with google-genai 2.x.
# google-genai >= 3 refuses video generation in that mode, so the project venv (3.x) skips those tests;
# this builds a throwaway venv with 'google-genai<3' (core ttv deps + pytest, no torch, no other extras)
# and runs tests/remote/test_veo.py there against the loopback fake (no network past the pip install).
# scripts/test.sh (and so CI) runs it before the main suite.
#
# Usage: bash scripts/check_veo_gemini.sh [PYTEST ARGS...]
#   TTV_GENAI2_VENV  venv folder (default: ${TMPDIR:-/tmp}/ttv-genai2; reused while pyproject.toml is unchanged)
#   GENAI_SPEC       the google-genai requirement (default: 'google-genai>=2.30,<3'; e.g. 'google-genai==2.30.0')
#   PYTHON           interpreter for a new venv (default: python3; 3.10+)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
SPEC="${GENAI_SPEC:-google-genai>=2.30,<3}"
TTV_VENV="${TTV_GENAI2_VENV:-${TMPDIR:-/tmp}/ttv-genai2}"
STAMP="$TTV_VENV/.ttv-stamp"
# The venv is up to date when it was built for this checkout, this pyproject.toml and this SPEC.
WANT="$(printf '%s\n%s\n' "$ROOT" "$SPEC" | cat - pyproject.toml | cksum)"
if [ -d "$TTV_VENV" ] && [ "$(cat "$STAMP" 2>/dev/null)" != "$WANT" ]; then
  # Unfinished or stale: rebuild from scratch (the editable ttv install must point at this checkout).
  rm -rf "$TTV_VENV"
fi
if [ ! -f "$STAMP" ]; then
  echo "building $TTV_VENV ($SPEC) ..." >&2
  source scripts/_venv.sh  # creates $TTV_VENV (VENV=$TTV_VENV) and defines pip_install
  pip_install --config-settings editable_mode=compat -e . "$SPEC" "pytest>=8,<9" "pytest-timeout>=2"
  printf '%s' "$WANT" > "$STAMP"
fi
PY="$TTV_VENV/bin/python"
# Guard against a vacuous pass: with google-genai 3.x every Gemini-route test would be skipped.
"$PY" - "$SPEC" <<'EOF'
import sys
from importlib.metadata import version

v = version("google-genai")
print(f"google-genai {v} in {sys.prefix}")
if int(v.split(".")[0]) >= 3:
    sys.exit(f"google-genai {v} is installed, but the Gemini route needs < 3 (GENAI_SPEC={sys.argv[1]!r})")
EOF
exec "$PY" -m pytest tests/remote/test_veo.py -q -p no:cacheprovider "$@"
