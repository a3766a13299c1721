#!/usr/bin/env bash
# How long `sam build` of the whole app takes, and what it ships:
#   1. `sam build` of generated/template.yaml from the target directory's current state
#      (cold when CARGO_TARGET_DIR is empty or new: dependencies included);
#   2. `sam build` again after a one-line change in one handler crate (handlers/orders);
#   3. `sam build` again after a one-line change in handlers/common (every crate uses it);
# then the size of every function's bootstrap. Each change is undone when the script
# ends. Init time and peak RSS per function: `cargo bench -p stackgen-cloud --bench functions`.
#
#   scripts/bench-build.sh            # uses the cargo target directory cargo would use
#   CARGO_TARGET_DIR=/tmp/cold scripts/bench-build.sh   # a cold build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

"$root/scripts/setup.sh" >/dev/null
venv=${VENV:-$root/.venv}
export PATH="$venv/bin:$PATH"
export SAM_CLI_TELEMETRY=0
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
build_dir="$target_dir/sam-build-bench"
mkdir -p "$target_dir"

# A change that compiles to the same program but that cargo must rebuild: one line
# appended to a source file of the crate. On exit the file gets back the bytes it had
# before, whatever was staged or committed meanwhile.
backup=$(mktemp -d)
changed=()
restore() {
  for f in "${changed[@]}"; do
    cp "$backup/$(basename "$f")" "$root/$f"
  done
  rm -rf "$backup"
}
trap restore EXIT
touch_source() {
  cp "$root/$1" "$backup/$(basename "$1")"
  changed+=("$1")
  printf '\n// bench-build: a one-line change\n' >>"$root/$1"
}

timed_build() {
  local started=$SECONDS
  sam build --template-file generated/template.yaml --build-dir "$build_dir" >"$target_dir/sam-build-bench.log" 2>&1 \
    || { tail -40 "$target_dir/sam-build-bench.log" >&2; exit 1; }
  echo $((SECONDS - started))
}

cold=$(timed_build)
touch_source handlers/orders/src/http.rs
one_handler=$(timed_build)
touch_source handlers/common/src/lib.rs
common=$(timed_build)

fmt() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }
echo "| build | time |"
echo "|---|---|"
echo "| sam build, from the target dir's state at start | $(fmt "$cold") |"
echo "| after a one-line change in handlers/orders | $(fmt "$one_handler") |"
echo "| after a one-line change in handlers/common | $(fmt "$common") |"
echo
echo "| function | bootstrap (stripped) |"
echo "|---|---|"
find "$build_dir" -name bootstrap -type f | sort | while read -r b; do
  function=$(basename "$(dirname "$b")")
  awk -v f="$function" -v size="$(stat -c %s "$b")" 'BEGIN { printf "| %s | %.2f MiB |\n", f, size / 1048576 }'
done
