#!/usr/bin/env bash
# tests/signal-chromium/run.sh PEERMESH-SIGNAL PEERMESH — headless Chromium
# speaking the signaling demo's 4.x JSON protocol to peermesh-signal on
# 127.0.0.1: the page creates a lobby (id 1), a C peer (`peermesh chat`)
# joins it, the two complete a WebRTC connection through the server (Godot's
# three negotiated channels), exchange a message each way on the reliable
# channel, and the C peer leaves: the page must see it come and go.
#
# Exit 77 (CTest SKIP_RETURN_CODE) when Chromium or Node.js >= 18 is missing;
# under CI=true that is a failure (tests/support/skip.sh).
set -u
SIGNAL=${1:?usage: run.sh PATH-TO-peermesh-signal PATH-TO-peermesh}
PM=${2:?usage: run.sh PATH-TO-peermesh-signal PATH-TO-peermesh}
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
LIMIT=40
# shellcheck source=../support/skip.sh
. "$HERE/../support/skip.sh"

for exe in "$SIGNAL" "$PM"; do
  [ -x "$exe" ] || pm_skip "$exe is not built (configure with -DPM_APPS=ON)"
done
[ -x "$CHROMIUM" ] || pm_skip "$CHROMIUM not installed (scripts/install-deps.sh interop)"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 18 ] || pm_skip "Node.js >= 18 not installed (scripts/install-deps.sh interop)"

# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
pm_work signal-chromium
pm_on_exit 'exec 3>&- 2>/dev/null'
# wait_for FILE PATTERN: until a line of FILE matches (or the time is up).
wait_for() {
  for _ in $(seq $((LIMIT * 20))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

SLOG="$WORK/server.log"
timeout -k 3 $((LIMIT + 10)) "$SIGNAL" --bind 127.0.0.1 --port 0 --log-level info >"$SLOG" 2>&1 &
PIDS+=("$!")
wait_for "$SLOG" "listening on 127.0.0.1 port" || { echo "FAIL: no server"; show "$SLOG"; exit 1; }
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$SLOG" | head -n1)
URL="ws://127.0.0.1:$PORT/"
echo "server: $URL"

BLOG="$WORK/browser.log"
timeout -k 3 "$LIMIT" node "$HERE/driver.js" "$URL" $((LIMIT - 5)) >"$BLOG" 2>&1 &
BPID=$!
PIDS+=("$BPID")
if ! wait_for "$BLOG" "^LOBBY "; then
  echo "FAIL: the page did not create a lobby"
  show "$BLOG" "$SLOG"
  exit 1
fi
LOBBY=$(sed -n 's/^LOBBY //p' "$BLOG" | head -n1)
echo "lobby: $LOBBY"

# The C peer reads its input from a FIFO so that we can speak only once the
# WebRTC link is up, and leave only once the page's message came.
CLOG="$WORK/chat.log"
mkfifo "$WORK/chat.in"
timeout -k 3 "$LIMIT" "$PM" chat --server "$URL" --lobby "$LOBBY" --bind 127.0.0.1 \
  <"$WORK/chat.in" >"$CLOG" 2>&1 &
PIDS+=("$!")
exec 3>"$WORK/chat.in"
ok=1
wait_for "$CLOG" "peer 1 connected" || ok=0
[ $ok = 1 ] && echo "hello from C" >&3
[ $ok = 1 ] && { wait_for "$CLOG" "^\[1\] hello from chromium" || ok=0; }
echo "/quit" >&3
exec 3>&-

wait "$BPID"
STATUS=$?
if [ $ok = 1 ] && [ $STATUS -eq 0 ] && grep -q '^RESULT ok' "$BLOG"; then
  echo "PASS: $(grep '^RESULT' "$BLOG")"
  exit 0
fi
echo "FAIL: chat ok=$ok, driver exit $STATUS"
show "$BLOG" "$CLOG" "$SLOG"
exit 1
