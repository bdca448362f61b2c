#!/usr/bin/env bash
# tests/web/run.sh BROWSER PEERMESH-SIGNAL PEERMESH WEB-DIR OUT-DIR — the web
# demo in a headless browser (chromium or firefox) with native bots, through
# `peermesh-signal --web-root WEB-DIR` on 127.0.0.1: two pages and two bots
# form one 4-peer mesh (tests/web/driver.js says what is checked). The
# screenshot of page 1 goes to OUT-DIR/web-BROWSER.png.
#
# Exit 77 (CTest SKIP_RETURN_CODE) when the browser, Node.js >= 18 or the
# WebAssembly build (make wasm) is missing; under CI=true that is a failure.
set -u
BROWSER=${1:?usage: run.sh chromium|firefox PEERMESH-SIGNAL PEERMESH WEB-DIR OUT-DIR}
SIGNAL=${2:?} PM=${3:?} WEB=${4:?} OUT=${5:?}
HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=60

skip() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $1 (CI=true: make test builds it and scripts/install-deps.sh installs it)"
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}
case "$BROWSER" in
  chromium) EXE=${CHROMIUM:-/usr/bin/chromium} ;;
  firefox) EXE=${FIREFOX:-/usr/bin/firefox-esr} ;;
  *) echo "run.sh: unknown browser $BROWSER" >&2; exit 64 ;;
esac
[ -x "$EXE" ] || skip "$EXE not installed (scripts/install-deps.sh interop)"
for exe in "$SIGNAL" "$PM"; do
  [ -x "$exe" ] || skip "$exe is not built (configure with -DPM_APPS=ON)"
done
[ -f "$WEB/index.html" ] && [ -f "$WEB/peermesh-demo.wasm" ] || skip "no web demo in $WEB (make wasm)"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 18 ] || skip "Node.js >= 18 not installed (scripts/install-deps.sh interop)"

# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
pm_work "web-$BROWSER"
SLOG="$WORK/server.log"
timeout -k 3 $((LIMIT + 10)) "$SIGNAL" --bind 127.0.0.1 --port 0 --web-root "$WEB" >"$SLOG" 2>&1 &
PIDS+=("$!")
for _ in $(seq 200); do
  grep -q "listening on 127.0.0.1 port" "$SLOG" 2>/dev/null && break
  sleep 0.05
done
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$SLOG" | head -n1)
[ -n "$PORT" ] || { echo "FAIL: no server"; show "$SLOG"; exit 1; }

DLOG="$WORK/driver.log"
timeout -k 3 $((LIMIT + 5)) node "$HERE/driver.js" --browser "$BROWSER" --url "http://127.0.0.1:$PORT/" \
  --peermesh "$PM" --pages 2 --bots 2 --out "$OUT" --timeout "$LIMIT" >"$DLOG" 2>&1
STATUS=$?
cat "$DLOG"
if [ $STATUS -eq 0 ] && grep -q '^RESULT ok' "$DLOG"; then
  echo "PASS: web demo in $BROWSER, 2 pages and 2 bots in one mesh"
  exit 0
fi
echo "FAIL: driver exit $STATUS"
show "$SLOG"
exit 1
