#!/usr/bin/env bash
# tests/godot/rpc.sh PEERMESH [COINS-SERVER] — Godot 3.2's high-level multiplayer (rpc,
# rset, send_bytes, RPC modes) between peermesh and Debian's Godot 3.2.3,
# on 127.0.0.1 only (tests/godot/rpc3/ holds the Godot side):
#
#   1. `peermesh rpc serve --enet`: two Godot clients (NetworkedMultiplayerENet)
#   2. `peermesh rpc serve --ws`: two Godot clients (WebSocketClient)
#   3. `peermesh rpc serve --ws` with a certificate: a Godot client over wss
#   4. a Godot WebSocketServer: the C client `peermesh rpc probe --ws`
#   5. a Godot ENet server: `peermesh rpc probe --enet`
#   6. a Godot WebSocketServer over wss: `peermesh rpc probe --ws wss://`
#   7. the example game (examples/godot3/coins) with its C server
#      COINS-SERVER: two headless Godot players chase the coin and score
#
# Each client sends every Variant type with rpc_id and checks the echo, rsets
# a property the server answers with an rpc to everyone, pings unreliably,
# sends raw bytes, calls methods of every RPC mode (the server must run only
# master/mastersync/remotesync ones and drop the others with a log line) and
# asks the server to call methods of every mode back (the client must drop
# the master one); clients greet each other through the server's relay.
#
# Godot: $PEERMESH_GODOT (a headless binary), else godot3-server. Without it:
# exit 77 (skipped, CTest SKIP_RETURN_CODE), or 1 under CI=true, where
# scripts/install-deps.sh interop should have installed it.
set -u

PM=${1:?usage: rpc.sh PATH-TO-peermesh [PATH-TO-coins-server]}
COINS=${2:-}
HERE=$(cd "$(dirname "$0")" && pwd)
STEP_TIMEOUT=${PM_GODOT_STEP_TIMEOUT:-30}

missing() {
  if [ "${CI:-}" = true ]; then
    echo "FAIL: $1 (CI=true: scripts/install-deps.sh interop installs it)"
    exit 1
  fi
  echo "SKIP: $1"
  exit 77
}

[ -x "$PM" ] || missing "$PM is not built (configure with -DPM_APPS=ON)"
command -v timeout >/dev/null || missing "coreutils timeout missing"
if [ -n "${PEERMESH_GODOT:-}" ]; then
  GODOT=("$PEERMESH_GODOT")
elif command -v godot3-server >/dev/null; then
  GODOT=(godot3-server)
else
  missing "godot3-server not installed (scripts/install-deps.sh interop)"
fi
command -v openssl >/dev/null || missing "openssl not installed (scripts/install-deps.sh interop)"
echo "godot: ${GODOT[*]} ($("${GODOT[0]}" --version 2>/dev/null | head -n1 || true))"

# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
pm_work godot-rpc
cp -r "$HERE/rpc3" "$WORK/project"
mkdir -p "$WORK/home"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 \
  -subj /CN=127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 ||
  missing "openssl cannot make a test certificate"

PASSED=0
FAILED=0
pass() { echo "PASS: $1"; PASSED=$((PASSED + 1)); }
fail() {
  echo "FAIL: $1"
  shift
  show "$@"
  FAILED=$((FAILED + 1))
}

godot() {
  local log=$1
  shift
  HOME="$WORK/home" timeout -k 3 "$STEP_TIMEOUT" "${GODOT[@]}" --path "$WORK/project" "$@" \
    >"$log" 2>&1
}

# start_serve LOG ARGS...: `peermesh rpc serve ARGS`, wait for its port.
start_serve() {
  local log=$1
  shift
  timeout -k 3 $((STEP_TIMEOUT * 2)) "$PM" rpc serve "$@" >"$log" 2>&1 &
  SERVE_PID=$!
  PIDS+=("$SERVE_PID")
  PORT=""
  for _ in $(seq 100); do
    PORT=$(sed -n 's/.*"event":"listening".*"port":\([0-9]*\).*/\1/p' "$log" | head -n1)
    [ -n "$PORT" ] && return 0
    sleep 0.05
  done
  return 1
}

stop_serve() {
  kill "$SERVE_PID" 2>/dev/null
  wait "$SERVE_PID" 2>/dev/null
}

# What the C server must have logged for N clients: each client's three
# forbidden calls dropped, nothing else dropped, its remotesync call run here.
serve_log_ok() {
  local log=$1 n=$2
  [ "$(grep -c '"event":"log".*is not allowed' "$log")" -eq $((3 * n)) ] &&
    ! (grep '"event":"log"' "$log" | grep -qv 'is not allowed') &&
    grep -q '"method":"sync_all".*"local":true' "$log" &&
    grep -q '"event":"summary".*"dropped_malformed":0,"dropped_unknown_path":0,"dropped_unknown_cache":0' "$log"
}

# scenarios 1-3: Godot clients of our server.
godot_clients_of_serve() {
  local name=$1 transport=$2 clients=$3
  shift 3
  local slog="$WORK/$name-serve.log"
  if ! start_serve "$slog" "$@"; then
    fail "$name: peermesh rpc serve did not start" "$slog"
    return
  fi
  local pids=() logs=() ok=1
  for i in $(seq "$clients"); do
    logs+=("$WORK/$name-client$i.log")
    godot "${logs[-1]}" -s client.gd -- transport="$transport" port="$PORT" \
      others=$((clients - 1)) timeout=$((STEP_TIMEOUT - 5)) &
    pids+=($!)
    PIDS+=($!)
  done
  for p in "${pids[@]}"; do wait "$p" || ok=0; done
  stop_serve
  for l in "${logs[@]}"; do grep -q '^RESULT ok' "$l" || ok=0; done
  if [ "$ok" = 1 ] && serve_log_ok "$slog" "$clients"; then
    pass "$name: $(grep -h '^RESULT' "${logs[0]}" | cut -c1-160)"
  else
    fail "$name" "${logs[@]}" "$slog"
  fi
}

# scenarios 4-6: our C client of a Godot server (random port, retried if taken).
probe_of_godot() {
  local name=$1 transport=$2
  shift 2
  local glog="$WORK/$name-godot.log" plog="$WORK/$name-probe.log" ready="$WORK/$name.ready"
  local port="" gpid=""
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    rm -f "$ready"
    godot "$glog" -s server.gd -- transport="$transport" port="$port" ready="$ready" peers=1 \
      timeout=$((STEP_TIMEOUT - 5)) cert="$WORK/cert.pem" key="$WORK/key.pem" &
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
    fail "$name: Godot server did not start" "$glog"
    return
  fi
  local target
  case $transport in
    enet) target=(--enet "127.0.0.1:$port") ;;
    ws) target=(--ws "ws://127.0.0.1:$port/") ;;
    wss) target=(--ws "wss://127.0.0.1:$port/") ;;
  esac
  timeout -k 3 "$STEP_TIMEOUT" "$PM" rpc probe "${target[@]}" --timeout $((STEP_TIMEOUT - 10)) \
    >"$plog" 2>&1
  local prc=$?
  wait "$gpid"
  local grc=$?
  # Godot itself must have refused the probe's three forbidden calls.
  if [ $prc = 0 ] && [ $grc = 0 ] && grep -q '"event":"result","ok":true' "$plog" &&
    [ "$(grep -c 'is not allowed on node /root/Echo' "$glog")" -eq 3 ]; then
    pass "$name: $(grep -o '"checks".*' "$plog" | cut -c1-160)"
  else
    fail "$name" "$plog" "$glog"
  fi
}

# scenario 7: the example game, two bots for a few seconds.
example_game() {
  local slog="$WORK/coins-server.log" b1="$WORK/coins-1.log" b2="$WORK/coins-2.log"
  cp -r "$HERE/../../examples/godot3/coins" "$WORK/coins"
  timeout -k 3 "$STEP_TIMEOUT" "$COINS" --port 0 --seconds $((STEP_TIMEOUT - 5)) >"$slog" 2>&1 &
  local spid=$!
  PIDS+=("$spid")
  local port=""
  for _ in $(seq 100); do
    port=$(sed -n 's/^coins-server: ENet on 127.0.0.1:\([0-9]*\)$/\1/p' "$slog")
    [ -n "$port" ] && break
    sleep 0.05
  done
  local ok=1 p1
  HOME="$WORK/home" timeout -k 3 "$STEP_TIMEOUT" "${GODOT[@]}" --path "$WORK/coins" -- \
    port="$port" name=alice goal=1 seconds=$((STEP_TIMEOUT - 10)) >"$b1" 2>&1 &
  p1=$!
  PIDS+=("$p1")
  HOME="$WORK/home" timeout -k 3 "$STEP_TIMEOUT" "${GODOT[@]}" --path "$WORK/coins" -- \
    port="$port" name=bob goal=1 seconds=$((STEP_TIMEOUT - 10)) >"$b2" 2>&1 || ok=0
  wait "$p1" || ok=0
  kill "$spid" 2>/dev/null
  wait "$spid" 2>/dev/null
  # Both must have seen someone reach the goal of one coin.
  local total=0 s
  for f in "$b1" "$b2"; do
    s=$(sed -n 's/^RESULT score=\([0-9]*\) best=1$/\1/p' "$f")
    [ -n "$s" ] || ok=0
    total=$((total + ${s:-0}))
  done
  if [ "$ok" = 1 ] && [ "$total" -gt 0 ] && grep -q 'alice .* joined' "$slog" &&
    grep -q 'bob .* joined' "$slog"; then
    pass "example game: coins-server and 2 Godot players scored $total"
  else
    fail "example game" "$b1" "$b2" "$slog"
  fi
}

godot_clients_of_serve "C ENet server, 2 Godot clients" enet 2 --enet 0
godot_clients_of_serve "C WebSocket server, 2 Godot clients" ws 2 --ws 0
godot_clients_of_serve "C wss server, a Godot client" wss 1 --ws 0 \
  --cert "$WORK/cert.pem" --key "$WORK/key.pem"
probe_of_godot "Godot WebSocket server, C client" ws
probe_of_godot "Godot ENet server, C client" enet
probe_of_godot "Godot wss server, C client" wss
if [ -n "$COINS" ]; then
  example_game
else
  echo "SKIP: example game (no coins-server given)"
fi

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
