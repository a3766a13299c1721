#!/usr/bin/env bash
# Installs every tool the tests and local runs need into a project virtualenv (.venv by default):
# moto server, cfn-lint, aws-sam-cli, cargo-lambda (with zig) and airspeed-ext.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${VENV:-$root/.venv}
python=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want=$(sha256sum "$root/requirements-dev.txt" | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$root/requirements-dev.txt"
  echo "$want" > "$stamp"
fi
echo "tools ready in $venv (add $venv/bin to PATH)"
