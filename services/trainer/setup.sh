#!/usr/bin/env bash
# Creates (or refreshes) the trainer's Python virtualenv and prints its python path.
#
# Why a script and not "pip install" in the README: every machine of this project starts
# fresh, so the project's own files must install what the trainer needs. It is idempotent:
# the venv lives in $FRAUDSCORE_CACHE/venv (default <repo>/.cache/venv, git-ignored) and
# packages are reinstalled only when requirements.txt (or the interpreter) changes.
#
# Usage:   PY=$(bash services/trainer/setup.sh)     # progress on stderr, path on stdout
# Env:     FRAUDSCORE_CACHE   cache folder (default <repo>/.cache)
#          FRAUDSCORE_PYTHON  interpreter to build the venv from (default python3)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${FRAUDSCORE_CACHE:-$repo/.cache}"
venv="$cache/venv"
req="$here/requirements.txt"
stamp="$venv/.requirements.sha256"
base_python="${FRAUDSCORE_PYTHON:-python3}"

log() { echo "[trainer/setup] $*" >&2; }

command -v "$base_python" >/dev/null 2>&1 || { log "no '$base_python' on PATH (set FRAUDSCORE_PYTHON)"; exit 1; }
# The pinned wheels exist for CPython 3.10-3.13; fail early with a clear message otherwise.
"$base_python" - <<'PY' || { log "need Python 3.10-3.13 (set FRAUDSCORE_PYTHON)"; exit 1; }
import sys
sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)
PY

mkdir -p "$cache"
cache="$(cd "$cache" && pwd)"  # absolute, so the printed path works from any folder
venv="$cache/venv"
stamp="$venv/.requirements.sha256"
# Two concurrent runs (e.g. CI steps) must not build the same venv at once.
exec 9>"$cache/venv.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

want="$( { cat "$req"; "$base_python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"

# A venv whose interpreter no longer runs (moved cache, removed pyenv version) is rebuilt.
if [ -d "$venv" ] && ! "$venv/bin/python" -c 'import sys' >/dev/null 2>&1; then
  log "venv at $venv is broken; recreating"
  rm -rf "$venv"
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  log "venv up to date ($venv)"
else
  if [ ! -x "$venv/bin/python" ]; then
    log "creating venv at $venv"
    "$base_python" -m venv "$venv" || { log "venv creation failed (Debian: apt-get install python3-venv)"; exit 1; }
  fi
  log "installing requirements (about a minute on a fresh machine)"
  rm -f "$stamp"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req" >&2
  # Prove the set really imports together before recording success.
  "$venv/bin/python" -c 'import numpy, sklearn, lightgbm, skl2onnx, onnxmltools, onnxruntime, onnx' >&2
  echo "$want" >"$stamp"
  log "requirements installed"
fi

echo "$venv/bin/python"
