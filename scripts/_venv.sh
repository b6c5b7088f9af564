# Sourced by demo.sh and test.sh: create the virtual environment and define pip_install.
PY="${PYTHON:-python3}"
VENV="${TTV_VENV:-.venv}"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
pip_install() {
  # The machine's pip config prints a harmless "Location ... is ignored" line per package: hide those, keep real errors.
  local log; log="$(mktemp)"
  if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check "$@" >"$log" 2>&1; then
    grep -v "^WARNING: Location" "$log" >&2; rm -f "$log"; exit 1
  fi
  grep -v "^WARNING: Location" "$log" >&2 || true; rm -f "$log"
}
