#!/usr/bin/env bash
# Creates (or reuses) the project's Python venv with every external tool the build,
# the tests and the local demo need. Idempotent: a stamp records what was installed, so
# a second run costs one file comparison.
#
# Usage: scripts/venv.sh [VENV REQUIREMENTS]; with no arguments, the main venv
# ($WARDEN_VENV or .venv) from scripts/requirements.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${1:-${WARDEN_VENV:-.venv}}
REQ=${2:-scripts/requirements.txt}
STAMP="$VENV/.installed"
if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && cmp -s "$REQ" "$STAMP"; then
  exit 0
fi
echo "venv: installing $(grep -cv '^#' "$REQ") pinned tools into $VENV" >&2
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -r "$REQ"
cp "$REQ" "$STAMP"
