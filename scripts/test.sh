#!/usr/bin/env bash
# Runs every check and test of the project on a fresh machine: installs the tools
# (scripts/setup.sh), then formatting, clippy, the Rust tests (against moto server),
# template drift, cfn-lint, the OpenAPI documents, checkov, `sam validate --lint` and `sam build` of all four services.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

"$root/scripts/setup.sh"
venv=${VENV:-$root/.venv}
export PATH="$venv/bin:$PATH"
export MOTO_SERVER="$venv/bin/moto_server"
export SAM_CLI_TELEMETRY=0
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')

step() { printf '\n==> %s\n' "$*"; }

step "the generator stays lean"
# `stackgen` (load, check, render) must build without the local cloud's weight.
heavy=$(cargo tree --locked -p stackgen -e normal --prefix none \
  | grep -E '^(aws-[a-z-]+|axum|hyper|reqwest|rustls|ring|aws-lc-[a-z-]+|notify|tokio) ' | sort -u || true)
if [ -n "$heavy" ]; then
  echo "stackgen depends on: $heavy" >&2
  exit 1
fi

step "the handler crates share their dependency builds"
# `sam build` resolves each handler crate alone: one feature apart and it compiles the
# AWS SDK once per crate. handlers/deps asks for the union.
python3 "$root/scripts/check_shared_builds.py"

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
# The handler binaries the end-to-end tests run are built by this same command.
E2E_PREBUILT=1 cargo test --workspace --locked

step "generated/ is up to date with the model"
cargo run --quiet --locked -p stackgen -- render --check

step "cfn-lint"
cfn-lint generated/*.yaml deploy/*.yaml

step "OpenAPI documents"
openapi-spec-validator generated/openapi/*.json

step "checkov"
# Every accepted risk is a skip with its reason, rendered from model/app.yaml
# (accepted_risks); any other failed check fails the run. No download from Prisma Cloud.
"${venv}-checkov/bin/checkov" -d generated --framework cloudformation --compact --quiet --skip-download

step "sam validate --lint"
for t in generated/*.yaml; do
  sam validate --lint --region us-east-1 -t "$t"
done

step "sam build (x86_64)"
build_dir="$target_dir/sam-build"
sam build --template-file generated/template.yaml --build-dir "$build_dir"
python3 "$root/scripts/check_bootstrap_sizes.py" "$build_dir" 6

echo
echo "all checks passed"
