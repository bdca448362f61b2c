#!/usr/bin/env bash
# bench/web.sh [RUNS] [BROWSER] — the web demo's budget, measured (docs/web.md):
#
#   size   the page's .wasm and .js, raw and gzipped (-9), and their sum
#   load   time from page load to all links open in the 4-peer test (two pages,
#          two native bots; the second page is timed), RUNS times (default 5)
#          in BROWSER (chromium, default, or firefox): each run and the median
#
# Needs `make build wasm`. Prints what it measured; asserts nothing.
set -u
RUNS=${1:-5}
BROWSER=${2:-chromium}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
WEB=${BUILD_WASM:-$ROOT/build-wasm}/web

total=0
for f in peermesh-demo.wasm peermesh-demo.js; do
  [ -f "$WEB/$f" ] || { echo "bench/web.sh: no $WEB/$f (make wasm)" >&2; exit 1; }
  raw=$(stat -c %s "$WEB/$f")
  gz=$(gzip -9 -c "$WEB/$f" | wc -c)
  total=$((total + gz))
  printf 'size %-20s %7d bytes, %7d gzipped\n' "$f" "$raw" "$gz"
done
printf 'size %-20s %7s        %7d gzipped (budget 307200)\n' "wasm + js" "" "$total"

times=()
for i in $(seq "$RUNS"); do
  out=$(bash "$ROOT/tests/web/run.sh" "$BROWSER" "$BUILD/peermesh-signal" "$BUILD/peermesh" "$WEB" \
    "$BUILD/web-bench" 2>&1)
  ms=$(printf '%s\n' "$out" | sed -n 's/^MEASURE load_to_all_open_ms \([0-9]*\).*/\1/p')
  if [ -z "$ms" ]; then
    printf '%s\n' "$out" | tail -n 20
    echo "bench/web.sh: run $i failed" >&2
    exit 1
  fi
  echo "load run $i: ${ms} ms from page load to all 3 links open ($BROWSER)"
  times+=("$ms")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
echo "load median of $RUNS: ${median} ms (budget 1500)"
