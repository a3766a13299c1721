#!/usr/bin/env bash
# Installs every tool the tests and local runs need into a project virtualenv (.venv by default):
# moto server, cfn-lint, aws-sam-cli, cargo-lambda (with zig), airspeed-ext and
# openapi-spec-validator; and checkov into
# a second one beside it (<venv>-checkov), since its pinned dependencies clash with SAM's.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
python=${PYTHON:-python3}

# install VENV REQUIREMENTS: creates the virtualenv if needed and installs the pinned
# requirements once per version of the file.
install() {
  local venv=$1 requirements=$2
  if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
  fi
  local stamp="$venv/.requirements.sha256"
  local want
  want=$(sha256sum "$requirements" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    "$venv/bin/python" -m pip install --quiet -r "$requirements"
    echo "$want" > "$stamp"
  fi
}

install "$venv" "$root/requirements-dev.txt"
install "${venv}-checkov" "$root/requirements-checkov.txt"
echo "tools ready in $venv (add $venv/bin to PATH); checkov in ${venv}-checkov/bin"
