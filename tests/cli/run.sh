#!/usr/bin/env bash
# tests/cli/run.sh BUILD_DIR — the tools' error messages. Every usage error
# names the bad value and what was expected, and exits 64; a failure at run
# time (nothing listens, a port in use, a socket that fails) says what and
# where, and exits 1. Each case: the exit status and a line of stderr.
set -u
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
PM="$BUILD/peermesh"
SIG="$BUILD/peermesh-signal"
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT
fails=0 cases=0

# expect STATUS TEXT -- COMMAND...: the command exits STATUS and says TEXT on stderr.
expect() {
  local want=$1 text=$2
  shift 3
  cases=$((cases + 1))
  timeout -k 2 20 "$@" >"$WORK/out" 2>"$WORK/err" </dev/null
  local got=$?
  if [ "$got" != "$want" ] || ! grep -qF -- "$text" "$WORK/err"; then
    fails=$((fails + 1))
    echo "FAIL: $*"
    echo "  want exit $want and: $text"
    echo "  got exit $got and:"
    sed 's/^/    /' "$WORK/err" | head -5
  fi
}

# ---- usage errors: 64 ----
expect 64 "peermesh: unknown command 'serve'" -- "$PM" serve
expect 64 "--bind needs a numeric IP address (e.g. 127.0.0.1 or ::1), got 'localhost'" -- \
  "$PM" enet server --port 7777 --bind localhost
expect 64 "--port needs a port number 0..65535, got '70000'" -- "$PM" enet server --port 70000
expect 64 "--port needs a value: a port number 0..65535" -- "$PM" enet server --port
expect 64 "unknown option '--prot'" -- "$PM" enet server --prot 7777
expect 64 "server needs --port" -- "$PM" enet server
expect 64 "unknown subcommand 'listen': server or connect" -- "$PM" enet listen
expect 64 "connect needs IP:PORT, the server's numeric IPv4 address and port" -- "$PM" enet connect
expect 64 "got 'localhost:7777'" -- "$PM" enet connect localhost:7777
expect 64 "--send needs a value: a number of packets" -- "$PM" enet connect 127.0.0.1:7777 --send
expect 64 "--format needs godot3 or godot4, got 'godot5'" -- \
  "$PM" enet connect 127.0.0.1:7777 --format godot5
expect 64 "unexpected argument 'extra'" -- "$PM" enet connect 127.0.0.1:7777 extra
expect 64 "needs --server URL" -- "$PM" chat
expect 64 "--server needs a ws:// or wss:// URL" -- "$PM" chat --server http://127.0.0.1:9080
expect 64 "--protocol needs json or text, got 'yaml'" -- \
  "$PM" chat --server ws://127.0.0.1:9 --protocol yaml
expect 64 "the port must be a number in 1..65535" -- "$PM" chat --server ws://127.0.0.1:99999
expect 64 "--bind needs a numeric IP address" -- "$PM" chat --server ws://127.0.0.1:9 --bind any
expect 64 "--peers needs a number of peers 2..16, got '1'" -- "$PM" demo --peers 1
expect 64 "--timeout needs a value: seconds, 1..3600" -- "$PM" demo --timeout
expect 64 "unknown benchmark 'fast'" -- "$PM" bench fast
expect 64 "--threads needs 1 or 2 threads, got '3'" -- "$PM" bench throughput --threads 3
expect 64 "--clients needs a number of clients 2..1000000, got 'many'" -- \
  "$PM" bench signal --clients many
expect 64 "peermesh bot: needs --server URL" -- "$PM" bot --lobby a
expect 64 "peermesh bot: --count needs a number of bots 1..8, got '9'" -- \
  "$PM" bot --server ws://127.0.0.1:9 --lobby a --count 9
expect 64 "peermesh enet mesh: --stun needs a STUN server URL, stun:HOST[:PORT], got 'turn:x'" -- \
  "$PM" enet mesh --server ws://127.0.0.1:9 --stun turn:x
expect 64 "peermesh enet mesh: needs --server URL" -- "$PM" enet mesh
expect 64 "peermesh rpc: unknown subcommand 'call': serve" -- "$PM" rpc call
expect 64 "peermesh rpc: --enet needs a port number 0..65535, got '70000'" -- \
  "$PM" rpc serve --enet 70000
expect 64 "peermesh-signal: --port needs a port number 0..65535, got '99999'" -- "$SIG" --port 99999
expect 64 "peermesh-signal: --bind needs a numeric IP address" -- "$SIG" --bind localhost
expect 64 "peermesh-signal: unknown option '--named-lobby'" -- "$SIG" --named-lobby
expect 64 "peermesh-signal: --log-level needs error, warn, info, debug or trace, got 'loud'" -- \
  "$SIG" --log-level loud
expect 64 "peermesh-signal: --redis needs redis://IP[:PORT] (a numeric address: no DNS) or unix:PATH, got 'redis://localhost'" -- \
  "$SIG" --redis redis://localhost
expect 64 "--rtt needs a round trip in ms, 0..1000, got 'abc'" -- "$PM" bench throughput --rtt abc
expect 64 "--servers needs ws:// or wss:// URLs separated by commas (at most 8), got 'http://x'" -- \
  "$PM" bench signal --servers http://x
printf 'port=80800\n' >"$WORK/bad.conf"
expect 64 "bad.conf:1: port needs a port number 0..65535, got '80800'" -- "$SIG" -c "$WORK/bad.conf"

# ---- failures at run time: 1, saying what and where ----
# A TCP port nobody listens on (the server checks its port, then exits).
free_port=$("$SIG" --port 0 --check-config | sed -n 's/.*(port \([0-9]*\)).*/\1/p')
expect 1 "connection refused by 127.0.0.1:$free_port" -- \
  "$PM" chat --server "ws://127.0.0.1:$free_port" --bind 127.0.0.1
expect 1 "bot 1 cannot join lobby a: connection refused by 127.0.0.1:$free_port" -- \
  "$PM" bot --server "ws://127.0.0.1:$free_port" --lobby a
# A UDP port in use.
"$PM" enet server --port 0 --seconds 15 >"$WORK/server.json" 2>&1 &
PIDS+=("$!")
for _ in $(seq 100); do grep -q listening "$WORK/server.json" && break; sleep 0.05; done
busy=$(sed -n 's/.*"port":\([0-9]*\).*/\1/p' "$WORK/server.json" | head -n1)
expect 1 "cannot listen on 127.0.0.1 port $busy" -- "$PM" enet server --port "$busy"
grep -q "Address already in use" "$WORK/err" ||
  { fails=$((fails + 1)); echo "FAIL: the errno of the busy port is not said"; }
# A socket that fails (0.0.0.1 is no destination: sendto says EINVAL): the peer stops.
expect 1 "failed: Invalid argument" -- "$PM" enet connect 0.0.0.1:9 --timeout 5
grep -q "stopping" "$WORK/err" || { fails=$((fails + 1)); echo "FAIL: the peer did not stop"; }

if [ "$fails" -ne 0 ]; then
  echo "cli: $fails of $cases cases failed"
  exit 1
fi
echo "cli: $cases cases passed"
