#!/usr/bin/env bash
# Run every fuzz target for a few seconds from its seed corpus (fuzz/corpus/<name>/).
set -euo pipefail
dir=${1:-build-fuzz}
secs=${2:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
shopt -s nullglob
targets=("$dir"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz-smoke: no fuzz targets built in $dir" >&2
    exit 1
fi
pass=0
fail=0
for t in "${targets[@]}"; do
    [ -x "$t" ] || continue
    name=$(basename "$t")
    work=$(mktemp -d)
    seeds="$root/fuzz/corpus/$name"
    # Crash inputs go to the build folder, never into the source tree.
    mkdir -p "$dir/fuzz-crashes"
    args=(-artifact_prefix="$dir/fuzz-crashes/$name-" "$work")
    [ -d "$seeds" ] && args+=("$seeds")
    if "$t" -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=0 "${args[@]}" \
        >"$work.log" 2>&1; then
        runs=$(grep -Eo 'Done [0-9]+ runs' "$work.log" | tail -1 || true)
        echo "fuzz-smoke: $name ok (${runs:-ran})"
        pass=$((pass + 1))
    else
        echo "fuzz-smoke: $name FAILED" >&2
        tail -40 "$work.log" >&2
        echo "fuzz-smoke: reproducer(s) kept in $dir/fuzz-crashes/" >&2
        fail=$((fail + 1))
    fi
    rm -rf "$work" "$work.log"
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
