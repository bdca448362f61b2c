#!/usr/bin/env bash
# tests/godot/run.sh PEERMESH — wire compatibility of the ENet peer with
# Debian's Godot 3.2.3 (NetworkedMultiplayerENet), on 127.0.0.1 only.
#
#   1. a Godot client of a `peermesh enet server --echo`: raw packets
#      (send_bytes, command byte 0x04) both ways, reliable and unreliable
#   2. `peermesh enet connect` clients of a Godot echo server: reliable,
#      unreliable, and two at once (they learn each other from Godot's
#      ADD_PEER system messages)
#   3. two Godot clients talking through a peermesh server's relay
#   4. scenario 1 again with `godot3 --no-window` under xvfb-run, when both
#      godot3-server and godot3 + xvfb-run are installed
#
# Godot: $PEERMESH_GODOT (a headless binary), else godot3-server (Debian's
# headless runtime), else godot3 --no-window under xvfb-run. Exits 77 with
# the reason when none is there (CTest SKIP_RETURN_CODE; under CI=true a
# failure, tests/support/skip.sh). Every process runs under `timeout`, and
# only the processes started here are stopped.
set -u

PM=${1:?usage: run.sh PATH-TO-peermesh}
HERE=$(cd "$(dirname "$0")" && pwd)
STEP_TIMEOUT=${PM_GODOT_STEP_TIMEOUT:-30}
# shellcheck source=../support/skip.sh
. "$HERE/../support/skip.sh"

[ -x "$PM" ] || pm_skip "$PM is not built (configure with -DPM_APPS=ON)"
command -v timeout >/dev/null || pm_skip "coreutils timeout missing"

HEADLESS=()
XVFB=()
if [ -n "${PEERMESH_GODOT:-}" ]; then
  HEADLESS=("$PEERMESH_GODOT")
elif command -v godot3-server >/dev/null; then
  HEADLESS=(godot3-server)
fi
if command -v godot3 >/dev/null && command -v xvfb-run >/dev/null; then
  XVFB=(xvfb-run -a godot3 --no-window)
fi
if [ ${#HEADLESS[@]} -eq 0 ] && [ ${#XVFB[@]} -eq 0 ]; then
  if command -v godot3 >/dev/null; then
    pm_skip "godot3 is installed but xvfb-run is not (scripts/install-deps.sh interop)"
  fi
  pm_skip "godot3 / godot3-server not installed (scripts/install-deps.sh interop)"
fi
[ ${#HEADLESS[@]} -gt 0 ] || HEADLESS=("${XVFB[@]}")
echo "godot: ${HEADLESS[*]} ($("${HEADLESS[0]}" --version 2>/dev/null | head -n1 || true))"

# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
pm_work godot
cp -r "$HERE/enet3" "$WORK/project"
mkdir -p "$WORK/home"

PASSED=0
FAILED=0
pass() { echo "PASS: $1"; PASSED=$((PASSED + 1)); }
fail() {
  echo "FAIL: $1"
  shift
  for f in "$@"; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 30 "$f"; }
  done
  FAILED=$((FAILED + 1))
}

# godot LOG ARGS...: run a Godot script in the copied project, bounded in time.
# HOME points into the work dir so Godot's user data stays there.
godot() {
  local log=$1
  shift
  local cmd=("${GODOT_CMD[@]}")
  HOME="$WORK/home" timeout -k 3 "$STEP_TIMEOUT" "${cmd[@]}" --path "$WORK/project" "$@" \
    >"$log" 2>&1
}

# start_pm_server LOG ARGS...: start `peermesh enet server --port 0`, wait for its port.
start_pm_server() {
  local log=$1
  shift
  timeout -k 3 $((STEP_TIMEOUT * 2)) "$PM" enet server --port 0 "$@" >"$log" 2>&1 &
  PM_SERVER=$!
  PIDS+=("$PM_SERVER")
  PM_PORT=""
  for _ in $(seq 100); do
    PM_PORT=$(sed -n 's/.*"event":"listening","port":\([0-9]*\).*/\1/p' "$log" | head -n1)
    [ -n "$PM_PORT" ] && return 0
    sleep 0.05
  done
  return 1
}

stop_pm_server() {
  kill "$PM_SERVER" 2>/dev/null
  wait "$PM_SERVER" 2>/dev/null
}

# scenario 1 (and 4): a Godot client, our echo server.
godot_client_of_peermesh() {
  local name=$1
  local slog="$WORK/$name-server.log" clog="$WORK/$name-client.log"
  if ! start_pm_server "$slog" --echo; then
    fail "$name: peermesh server did not start" "$slog"
    return
  fi
  godot "$clog" -s client.gd -- role=echo n=20 port="$PM_PORT" timeout=$((STEP_TIMEOUT - 5))
  stop_pm_server
  if grep -q '^RESULT ok' "$clog" && grep -q '"event":"peer_connected"' "$slog" &&
    grep -q '"event":"peer_disconnected"' "$slog"; then
    pass "$name: $(grep '^RESULT' "$clog")"
  else
    fail "$name" "$clog" "$slog"
  fi
}

# scenario 2: our clients, a Godot echo server (random port, retried if taken).
peermesh_clients_of_godot() {
  local glog="$WORK/g-server.log" port="" gpid="" ready="$WORK/ready.txt"
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    rm -f "$ready"
    godot "$glog" -s server.gd -- port="$port" peers=4 ready="$ready" \
      timeout=$((STEP_TIMEOUT - 5)) &
    gpid=$!
    PIDS+=("$gpid")
    for _ in $(seq 200); do
      [ -f "$ready" ] && break
      kill -0 "$gpid" 2>/dev/null || break
      sleep 0.05
    done
    [ -f "$ready" ] && break
    wait "$gpid" 2>/dev/null
    gpid=""
  done
  if [ -z "$gpid" ]; then
    fail "godot server did not start" "$glog"
    return
  fi
  local ok=1 r u a b
  r="$WORK/pm-rel.log"
  u="$WORK/pm-unrel.log"
  a="$WORK/pm-a.log"
  b="$WORK/pm-b.log"
  timeout -k 3 "$STEP_TIMEOUT" "$PM" enet connect "127.0.0.1:$port" --send 50 --size 64 \
    --timeout 10 >"$r" 2>&1 || ok=0
  timeout -k 3 "$STEP_TIMEOUT" "$PM" enet connect "127.0.0.1:$port" --send 50 --size 64 \
    --unreliable --expect 1 --timeout 10 >"$u" 2>&1 || ok=0
  # Two at once: each must hear of the other through Godot's ADD_PEER.
  timeout -k 3 "$STEP_TIMEOUT" "$PM" enet connect "127.0.0.1:$port" --send 5 --linger 1.5 \
    --timeout 10 >"$a" 2>&1 &
  local apid=$!
  PIDS+=("$apid")
  sleep 0.3
  timeout -k 3 "$STEP_TIMEOUT" "$PM" enet connect "127.0.0.1:$port" --send 5 --timeout 10 \
    >"$b" 2>&1 || ok=0
  wait "$apid" || ok=0
  wait "$gpid" 2>/dev/null
  local bid
  bid=$(sed -n 's/.*"event":"connected","id":\([0-9]*\).*/\1/p' "$b" | head -n1)
  if [ "$ok" = 1 ] && grep -q '"received":50' "$r" && grep -q '"event":"result"' "$u" &&
    [ -n "$bid" ] && grep -q "\"event\":\"peer_connected\",\"id\":$bid}" "$a" &&
    grep -q '^RESULT ok' "$glog"; then
    pass "peermesh clients of a Godot server: reliable $(grep -o '"received":[0-9]*' "$r"), \
unreliable $(grep -o '"received":[0-9]*' "$u"), ADD_PEER seen; godot $(grep '^RESULT' "$glog")"
  else
    fail "peermesh clients of a Godot server" "$r" "$u" "$a" "$b" "$glog"
  fi
}

# scenario 3: two Godot clients through our relay.
godot_clients_through_relay() {
  local slog="$WORK/relay-server.log" c1="$WORK/relay-1.log" c2="$WORK/relay-2.log"
  if ! start_pm_server "$slog"; then
    fail "relay: peermesh server did not start" "$slog"
    return
  fi
  godot "$c1" -s client.gd -- role=relay port="$PM_PORT" timeout=$((STEP_TIMEOUT - 5)) &
  local p1=$!
  PIDS+=("$p1")
  godot "$c2" -s client.gd -- role=relay port="$PM_PORT" timeout=$((STEP_TIMEOUT - 5))
  wait "$p1"
  stop_pm_server
  if grep -q '^RESULT ok' "$c1" && grep -q '^RESULT ok' "$c2" &&
    grep -Eq '"relayed":[1-9]' "$slog"; then
    pass "two Godot clients through the peermesh relay: $(grep -o '"relayed":[0-9]*' "$slog")"
  else
    fail "two Godot clients through the peermesh relay" "$c1" "$c2" "$slog"
  fi
}

GODOT_CMD=("${HEADLESS[@]}")
godot_client_of_peermesh "godot client, peermesh echo server"
peermesh_clients_of_godot
godot_clients_through_relay
if [ ${#XVFB[@]} -gt 0 ] && [ "${HEADLESS[*]}" != "${XVFB[*]}" ]; then
  GODOT_CMD=("${XVFB[@]}")
  godot_client_of_peermesh "godot3 --no-window under xvfb-run, peermesh echo server"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
