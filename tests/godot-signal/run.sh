#!/usr/bin/env bash
# tests/godot-signal/run.sh PEERMESH-SIGNAL PEERMESH — Debian's Godot 3.2.3
# (WebSocketClient, the 3.x text protocol of the signaling demo) against
# peermesh-signal on 127.0.0.1, with a C client (`peermesh chat`, 4.x JSON)
# joining the same lobby. See project/signal_test.gd for the script.
#
# Godot: godot3 --no-window under xvfb-run (as the demo would run headless),
# else godot3-server; $PEERMESH_GODOT overrides. Exits 77 with the reason
# when neither is installed (CTest SKIP_RETURN_CODE; under CI=true a failure,
# tests/support/skip.sh). Every process runs under `timeout`; only processes
# started here are stopped.
set -u

SIGNAL=${1:?usage: run.sh PATH-TO-peermesh-signal PATH-TO-peermesh}
PM=${2:?usage: run.sh PATH-TO-peermesh-signal PATH-TO-peermesh}
HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=${PM_GODOT_STEP_TIMEOUT:-40}
# shellcheck source=../support/skip.sh
. "$HERE/../support/skip.sh"

for exe in "$SIGNAL" "$PM"; do
  [ -x "$exe" ] || pm_skip "$exe is not built (configure with -DPM_APPS=ON)"
done
command -v timeout >/dev/null || pm_skip "coreutils timeout missing"

if [ -n "${PEERMESH_GODOT:-}" ]; then
  GODOT=("$PEERMESH_GODOT")
elif command -v godot3 >/dev/null && command -v xvfb-run >/dev/null; then
  GODOT=(xvfb-run -a godot3 --no-window)
elif command -v godot3-server >/dev/null; then
  GODOT=(godot3-server)
elif command -v godot3 >/dev/null; then
  pm_skip "godot3 is installed but xvfb-run is not (scripts/install-deps.sh interop)"
else
  pm_skip "godot3 not installed (scripts/install-deps.sh interop)"
fi
echo "godot: ${GODOT[*]}"

# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
pm_work godot-signal
cp -r "$HERE/project" "$WORK/project"
mkdir -p "$WORK/home"


# The server: any free port on loopback, a short seal delay.
SLOG="$WORK/server.log"
timeout -k 3 $((LIMIT + 10)) "$SIGNAL" --bind 127.0.0.1 --port 0 --seal-delay 1 \
  --log-level info >"$SLOG" 2>&1 &
PIDS+=("$!")
PORT=""
for _ in $(seq 100); do
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$SLOG" | head -n1)
  [ -n "$PORT" ] && break
  sleep 0.05
done
if [ -z "$PORT" ]; then
  echo "FAIL: peermesh-signal did not start"
  show "$SLOG"
  exit 1
fi
URL="ws://127.0.0.1:$PORT/"
echo "server: $URL"

GLOG="$WORK/godot.log"
LOBBY_FILE="$WORK/lobby.txt"
HOME="$WORK/home" timeout -k 3 "$LIMIT" "${GODOT[@]}" --path "$WORK/project" -s signal_test.gd \
  -- url="$URL" lobby_file="$LOBBY_FILE" expect_external=1 timeout=$((LIMIT - 5)) \
  >"$GLOG" 2>&1 &
GPID=$!
PIDS+=("$GPID")

# The C client joins once Godot's peers are in, stays a moment, leaves.
for _ in $(seq $((LIMIT * 20))); do
  [ -s "$LOBBY_FILE" ] && break
  kill -0 "$GPID" 2>/dev/null || break
  sleep 0.05
done
CLOG="$WORK/chat.log"
CSTATUS="did not run (Godot wrote no lobby id)"
if [ -s "$LOBBY_FILE" ]; then
  LOBBY=$(cat "$LOBBY_FILE")
  (sleep 1.5; echo "hello from C"; echo "/quit") |
    timeout -k 3 20 "$PM" chat --server "$URL" --lobby "$LOBBY" --bind 127.0.0.1 >"$CLOG" 2>&1
  CSTATUS=$?
  echo "C client: exit $CSTATUS ($(grep -c '' "$CLOG") lines)"
fi

wait "$GPID"
STATUS=$?
# Both sides must succeed: Godot's verdict, and the C client's own exit status.
if [ $STATUS -eq 0 ] && grep -q '^RESULT ok' "$GLOG" && [ "$CSTATUS" = 0 ] &&
  grep -q 'we are peer' "$CLOG"; then
  echo "PASS: $(grep '^RESULT' "$GLOG"); C client exit 0"
  exit 0
fi
echo "FAIL: godot exit $STATUS, C client exit $CSTATUS"
show "$GLOG" "$CLOG" "$SLOG"
exit 1
