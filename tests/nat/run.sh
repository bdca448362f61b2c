#!/bin/bash
# run.sh: peermesh through NATs and a TURN server, in network namespaces the
# test builds itself (tests/nat/netns.sh): cone and symmetric NATs, a NAT that
# drops UDP, coturn on the "internet". Needs root; skipped (exit 77) with the
# reason otherwise, and a failure under CI=true.
#
#   tests/nat/run.sh PEERMESH_BINARY [PION_PEER]
#
# Each case runs two peers with tests/interop/pair.py (in this test's
# namespaces, not its own) and checks the selected candidate pair's types.
# Prints PASS/FAIL/SKIP per case and "N passed, N failed, N skipped".
#
# Environment: CASES=name,... (a subset), NAT_LOGS=dir (per-case logs, default
# a temporary directory removed at exit unless a case failed), CHROMIUM=path.
set -u
# A chat that exited early (its case then fails with its log) must not take
# the whole run down: a line written to its input fifo fails instead of
# killing this shell with SIGPIPE (seen in make test: a chat started before
# its signaling server listened).
trap '' PIPE

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# shellcheck source=tests/support/procs.sh
. "$root/tests/support/procs.sh"
# shellcheck source=tests/support/skip.sh
. "$root/tests/support/skip.sh"
# shellcheck source=tests/nat/netns.sh
. "$here/netns.sh"

pm=${1:?usage: run.sh PEERMESH_BINARY [PION_PEER]}
pion=${2:-$root/build/interop/pion-peer}
case "$pm" in /*) ;; *) pm="$PWD/$pm" ;; esac
cases=${CASES:-}

nat_require
pm_work nat
pm_on_exit nat_teardown
logs=${NAT_LOGS:-$WORK/logs}
mkdir -p "$logs"
passed=0 failed=0 skipped=0
t_start=$(date +%s%N)

nat_build || { echo "FAIL  building the test network"; exit 1; }
nat_turn_start static || { echo "FAIL  starting coturn"; show "$NAT_TURN_LOG"; exit 1; }
echo "network and coturn ready in $((($(date +%s%N) - t_start) / 1000000)) ms ($NAT_ID)"

want() { [ -z "$cases" ] || case ",$cases," in *",$1,"*) return 0 ;; esac; [ -z "$cases" ]; }

TURN_UDP="--ice-server turn:$NAT_PUB_IP:3478"
TURN_TCP="--ice-server turn:$NAT_PUB_IP:3478?transport=tcp"
TURN_TLS="--ice-server turns:$NAT_PUB_IP:5349"
STUN="--ice-server stun:$NAT_PUB_IP:3478"
CRED="--ice-username $NAT_TURN_USER --ice-credential $NAT_TURN_PASS"

# peer NS IP ARGS...: a peermesh peer in namespace NS bound to IP.
peer() {
  local ns=$1 ip=$2
  shift 2
  printf 'ip netns exec %s-%s env SSL_CERT_FILE=%s %s peer --bind %s --timeout 25 %s' \
    "$NAT_ID" "$ns" "$NAT_CA" "$pm" "$ip" "$*"
}

wait_for() { # FILE PATTERN SECONDS
  local i
  for i in $(seq 1 $(($3 * 10))); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# run_case NAME "A" "B" CHECK [DURING]: CHECK is a Python expression over the
# pair.py summary (s), the two result events (a, b) and the case's log text
# (log) that must hold; DURING is a shell command run while the peers run
# ($log is the log pair.py is writing: wait_for "$log" ... to sync with it).
run_case() {
  local name=$1 cmd_a=$2 cmd_b=$3 check=$4 during=${5:-} log summary status t0 detail bg=
  want "$name" || return 0
  log="$logs/$name.log"
  t0=$(date +%s%N)
  if [ -n "$during" ]; then
    eval "$during" &
    bg=$!
  fi
  summary=$(python3 "$root/tests/interop/pair.py" --no-netns --timeout 60 "$cmd_a" "$cmd_b" \
    2>"$log")
  status=$?
  [ -n "$bg" ] && wait "$bg"
  printf '%s\n' "$summary" >>"$log"
  detail=$(printf '%s\n' "$summary" | tail -n 1 | CHECK="$check" LOG="$log" python3 -c '
import json, os, sys
try:
    s = json.loads(sys.stdin.read())
except ValueError:
    print("FAIL no summary from pair.py"); sys.exit()
a = (s.get("A") or {}).get("result") or {}
b = (s.get("B") or {}).get("result") or {}
def pair(r):
    t = "%s/%s" % (r.get("local_candidate_type"), r.get("remote_candidate_type"))
    return t + ("(%s)" % r["relay_protocol"] if r.get("relay_protocol") else "")
desc = "A %s, B %s" % (pair(a), pair(b))
if not s.get("ok"):
    print("FAIL " + "; ".join(s.get("errors", []))[:300] + " [" + desc + "]"); sys.exit()
log = open(os.environ["LOG"], errors="replace").read()
ok = eval(os.environ["CHECK"], {}, {"s": s, "a": a, "b": b, "log": log})
print(("PASS " if ok else "FAIL selected pair: ") + desc +
      ", connect %s ms" % s.get("connect_ms"))
')
  if [ "$status" -eq 0 ] && [ "${detail%% *}" = PASS ]; then
    report "$name" "$t0" true "${detail#PASS }" "$log"
  else
    report "$name" "$t0" false "${detail:-pair.py exited $status}" "$log"
  fi
}

# report NAME T0 OK DETAIL LOG: one PASS or FAIL line (DETAIL: what was seen,
# or why it failed), the end of LOG under a failure, the counters.
report() {
  local name=$1 t0=$2 ok=$3 detail=$4 log=$5 secs
  secs=$(awk "BEGIN{printf \"%.1f\", ($(date +%s%N) - $t0) / 1e9}")
  if [ "$ok" = true ]; then
    printf 'PASS  %-28s %5s s  %s\n' "$name" "$secs" "$detail"
    passed=$((passed + 1))
  else
    printf 'FAIL  %-28s %5s s  %s\n      log: %s\n' "$name" "$secs" "$detail" "$log"
    tail -n 20 "$log" | sed 's/^/      /'
    failed=$((failed + 1))
  fi
}

skip_case() { # a case whose peer is missing: skipped, or failed under CI (skip.sh)
  want "$1" || return 0
  if pm_ci; then
    printf 'FAIL  %-28s %s (CI: scripts/install-deps.sh installs it)\n' "$1" "$2"
    failed=$((failed + 1))
    return 0
  fi
  printf 'SKIP  %-28s %s\n' "$1" "$2"
  skipped=$((skipped + 1))
}

SEND="--send 20 --size 1,1200,16384"
T=20

# Two hosts behind the same NAT: their host candidates reach each other.
run_case same-nat-host \
  "$(peer a1 10.0.1.2 --offer $STUN $TURN_UDP $CRED $SEND)" \
  "$(peer a2 10.0.1.3 --answer $STUN $TURN_UDP $CRED --echo)" \
  'a["local_candidate_type"] == "host" and a["remote_candidate_type"] == "host"'

# Behind two different cone NATs: server-reflexive addresses (coturn's STUN).
run_case two-cone-nats-srflx \
  "$(peer a1 10.0.1.2 --offer $STUN $SEND)" \
  "$(peer b1 10.0.2.2 --answer $STUN --echo)" \
  'a["local_candidate_type"] == "srflx" and b["local_candidate_type"] == "srflx"'

# Behind a symmetric NAT: only the relay works.
run_case symmetric-nat-relay \
  "$(peer s1 10.0.3.2 --offer $STUN $TURN_UDP $CRED $SEND)" \
  "$(peer b1 10.0.2.2 --answer $STUN $TURN_UDP $CRED --echo)" \
  '"relay" in (a["local_candidate_type"], a["remote_candidate_type"])'

# UDP blocked: TURN over TCP, and over TLS (certificate verified against the test CA).
run_case udp-blocked-turn-tcp \
  "$(peer u1 10.0.4.2 --offer $TURN_TCP $CRED $SEND)" \
  "$(peer b1 10.0.2.2 --answer $STUN $TURN_UDP $CRED --echo)" \
  'a["local_candidate_type"] == "relay" and a["relay_protocol"] == "tcp"'
run_case udp-blocked-turn-tls \
  "$(peer u1 10.0.4.2 --offer $TURN_TLS $CRED $SEND)" \
  "$(peer b1 10.0.2.2 --answer $STUN $TURN_UDP $CRED --echo)" \
  'a["local_candidate_type"] == "relay" and a["relay_protocol"] == "tls"'

# Both sides relay-only, from behind two NATs.
run_case both-relay-only \
  "$(peer a1 10.0.1.2 --offer --relay-only $TURN_UDP $CRED $SEND)" \
  "$(peer b1 10.0.2.2 --answer --relay-only $TURN_UDP $CRED --echo)" \
  'a["local_candidate_type"] == b["local_candidate_type"] == "relay"'

# TURN failures: a wrong password is reported and the host pair still works.
run_case turn-wrong-password \
  "$(peer a1 10.0.1.2 --offer $TURN_UDP --ice-username $NAT_TURN_USER --ice-credential wrong $SEND)" \
  "$(peer a2 10.0.1.3 --answer --echo)" \
  'a["local_candidate_type"] == "host"'

# Interop through the relay, both sides relay-only: pion and Chromium.
pion_ok=false
if [ -x "$pion" ] && [ "$pion" -nt "$root/tests/interop/pion/main.go" ]; then
  pion_ok=true
elif command -v go >/dev/null 2>&1 && [ -d /usr/share/gocode/src/github.com/pion/webrtc ]; then
  bash "$root/tests/interop/build-pion.sh" "$pion" >"$logs/build-pion.log" 2>&1 && pion_ok=true
fi
chromium=${CHROMIUM:-/usr/bin/chromium}
chromium_ok=false
[ -x "$chromium" ] && command -v node >/dev/null 2>&1 && chromium_ok=true
other() { # NS ARGS...: a reference peer command in namespace NS
  local ns=$1
  shift
  printf 'ip netns exec %s-%s %s' "$NAT_ID" "$ns" "$*"
}
if $pion_ok; then
  run_case relay-only-pion \
    "$(peer a1 10.0.1.2 --offer --relay-only $TURN_UDP $CRED $SEND)" \
    "$(other b1 "$pion" --answer --bind 10.0.2.2 --relay-only $TURN_UDP $CRED --echo --timeout 25)" \
    'a["local_candidate_type"] == b["local_candidate_type"] == "relay"'
else
  skip_case relay-only-pion "pion peer not built and golang-github-pion-webrtc.v3-dev missing"
fi
if $chromium_ok; then
  run_case relay-only-chromium \
    "$(peer a1 10.0.1.2 --offer --relay-only $TURN_UDP $CRED $SEND)" \
    "$(other b1 env CHROMIUM="$chromium" node "$root/tests/interop/chromium/peer.js" --answer \
      --bind 10.0.2.2 --relay-only $TURN_UDP $CRED --echo --timeout 25)" \
    'a["local_candidate_type"] == b["local_candidate_type"] == "relay"'
  # Chromium's default host candidates are ".local" names: resolved with mDNS
  # (the signalled candidate then replaces the peer-reflexive one its checks
  # made first).
  run_case mdns-chromium \
    "$(peer a1 10.0.1.2 --offer --send 300 --size 1200 --interval 20)" \
    "$(other a2 env CHROMIUM="$chromium" node "$root/tests/interop/chromium/peer.js" --answer \
      --mdns --bind any --echo --timeout 25)" \
    'a["remote_candidate_type"] == "host" and ".local" in log'
else
  skip_case relay-only-chromium "chromium or node not installed (scripts/install-deps.sh interop)"
  skip_case mdns-chromium "chromium or node not installed (scripts/install-deps.sh interop)"
fi

# The server is down: the TCP connection is refused at once (701), and the
# host pair works.
run_case turn-server-down \
  "$(peer a1 10.0.1.2 --offer --ice-server turn:$NAT_PUB_IP:3499?transport=tcp $CRED $SEND)" \
  "$(peer a2 10.0.1.3 --answer --echo)" \
  'a["local_candidate_type"] == "host" and "\"error_code\":701" in log'

# Allocation quota: a server allowing one allocation per user refuses the
# second with 486; that side goes on without a relay.
if nat_turn_start quota 3480 5350; then
  run_case turn-quota \
    "$(peer a1 10.0.1.2 --offer --ice-server turn:$NAT_PUB_IP:3480 $CRED $SEND)" \
    "$(peer a2 10.0.1.3 --answer --ice-server turn:$NAT_PUB_IP:3480 $CRED --echo)" \
    'a["local_candidate_type"] == "host" and "\"error_code\":486" in log'
else
  echo "FAIL  turn-quota: the quota server did not start"
  failed=$((failed + 1))
fi

# A mesh through the signaling server: it hands out TURN REST credentials
# (coturn use-auth-secret), and two chat peers behind two NATs, relay-only,
# use them without any TURN setting of their own.
signal_case() {
  local name=signaling-turn-rest t0 sig="$(dirname "$pm")/peermesh-signal" d="$WORK/sig"
  want "$name" || return 0
  [ -x "$sig" ] || { skip_case "$name" "peermesh-signal not built"; return 0; }
  t0=$(date +%s%N)
  mkdir -p "$d"
  local log="$logs/$name.log" ok=true why=""
  if ! nat_turn_start rest 3490 5360; then
    ok=false why="the REST coturn did not start"
  fi
  in_ns pub "$sig" --bind "$NAT_PUB_IP" --port 9080 --turn-secret "$NAT_TURN_SECRET" \
    --turn-url "turn:$NAT_PUB_IP:3490" --log-level info >"$d/signal.log" 2>&1 &
  PIDS+=("$!")
  # A chat that connects before the server listens gets 1006 and exits.
  $ok && { wait_for "$d/signal.log" "listening" 5 || { ok=false why="the signaling server did not start"; }; }
  # A line for a chat that has exited must fail the case, not end the
  # script with SIGPIPE: each write is a subshell of its own.
  say() { (echo "$2" >&"$1") 2>/dev/null || true; }
  mkfifo "$d/a.in" "$d/b.in"
  in_ns a1 "$pm" chat --server "ws://$NAT_PUB_IP:9080" --bind 10.0.1.2 --relay-only \
    <"$d/a.in" >"$d/a.out" 2>"$d/a.err" &
  PIDS+=("$!")
  exec 7>"$d/a.in"
  $ok && { wait_for "$d/a.out" "in lobby" 10 || { ok=false why="A did not create a lobby"; }; }
  local lobby
  lobby=$(sed -n 's/.*in lobby \([^ ]*\) .*/\1/p' "$d/a.out" | head -n 1)
  in_ns b1 "$pm" chat --server "ws://$NAT_PUB_IP:9080" --bind 10.0.2.2 --relay-only \
    --lobby "$lobby" <"$d/b.in" >"$d/b.out" 2>"$d/b.err" &
  PIDS+=("$!")
  exec 8>"$d/b.in"
  $ok && { wait_for "$d/a.out" "peer [0-9]* connected" 15 && wait_for "$d/b.out" "peer 1 connected" 5 ||
    { ok=false why="the peers did not connect"; }; }
  $ok && { say 7 "hello through the relay"; wait_for "$d/b.out" "^\[1\] hello through the relay" 5 ||
    { ok=false why="B did not get A's message"; }; }
  say 7 /peers
  say 8 /peers
  $ok && { wait_for "$d/a.out" "[0-9] \[relay/relay relay over udp\]" 5 &&
    wait_for "$d/b.out" " 1 \[relay/relay relay over udp\]" 5 ||
    { ok=false why="the links are not relay/relay"; }; }
  $ok && { grep -q "incoming packet ALLOCATE processed, success" "$NAT_TURN_LOG" ||
    { ok=false why="no allocation with the REST credentials"; }; }
  say 7 /quit
  say 8 /quit
  exec 7>&- 8>&-
  cat "$d"/signal.log "$d"/a.out "$d"/a.err "$d"/b.out "$d"/b.err >"$log" 2>/dev/null
  $ok && why="chat A/B relay/relay, REST credentials from the server"
  report "$name" "$t0" "$ok" "$why" "$log"
}
signal_case

# An ENet mesh through the signaling server (peermesh enet mesh): three
# peers, two behind natA and one behind natB, learn their public addresses
# from coturn's STUN (handed out by the server) and punch holes: a1-a2 meet
# on their host addresses, a1-b1 and a2-b1 at the NATs' public ones. At the
# same time s1 (symmetric natS) and b2 (natB) try in a lobby of their own:
# punching cannot work there, and both report the link failed with why
# (each stays a while after its own report: a peer that leaves the lobby
# takes its half-made link with it, with no failure to report).
enet_case() {
  local name=enet-mesh-hole-punching t0 sig="$(dirname "$pm")/peermesh-signal" d="$WORK/enet"
  want "$name" || return 0
  [ -x "$sig" ] || { skip_case "$name" "peermesh-signal not built"; return 0; }
  t0=$(date +%s%N)
  mkdir -p "$d"
  local log="$logs/$name.log" ok=true why="" url="ws://$NAT_PUB_IP:9081"
  in_ns pub "$sig" --bind "$NAT_PUB_IP" --port 9081 --stun-url "stun:$NAT_PUB_IP:3478" \
    --log-level info >"$d/signal.log" 2>&1 &
  PIDS+=("$!")
  mesh() { # NS IP OUT ARGS...
    local ns=$1 ip=$2 out=$3
    shift 3
    in_ns "$ns" "$pm" enet mesh --server "$url" --bind "$ip" --timeout 30 "$@" \
      >"$d/$out.out" 2>"$d/$out.err" &
    PIDS+=("$!")
  }
  lobby_of() { sed -n 's/.*"lobby":"\([^"]*\)".*/\1/p' "$d/$1.out" | head -n 1; }
  wait_for "$d/signal.log" "listening" 5 || { ok=false why="the signaling server did not start"; }
  mesh a1 10.0.1.2 a1 --peers 3
  mesh s1 10.0.3.2 s1 --peers 2 --punch-timeout 4 --linger 3
  wait_for "$d/a1.out" '"lobby"' 10 && wait_for "$d/s1.out" '"lobby"' 10 ||
    { ok=false why="no lobby created"; }
  mesh a2 10.0.1.3 a2 --peers 3 --lobby "$(lobby_of a1)"
  mesh b1 10.0.2.2 b1 --peers 3 --lobby "$(lobby_of a1)"
  mesh b2 10.0.2.3 b2 --peers 2 --punch-timeout 4 --linger 3 --lobby "$(lobby_of s1)"
  local f
  for f in a1 a2 b1 s1 b2; do
    wait_for "$d/$f.out" '"event":"result"' 35 || { ok=false why="$f has no result"; }
  done
  $ok && for f in a1 a2 b1; do
    grep -q '"event":"result","ok":true' "$d/$f.out" || { ok=false why="$f: not every packet arrived"; }
  done
  # a1 reaches a2 on its host address and b1 at natB's public one.
  $ok && { grep -q '"address":"10\.0\.1\.3:' "$d/a1.out" &&
    grep -q '"address":"203\.0\.113\.20:' "$d/a1.out" ||
    { ok=false why="a1's links are not host (a2) and natB's public address (b1)"; }; }
  $ok && for f in s1 b2; do
    grep -q '"event":"peer_failed".*hole punching failed' "$d/$f.out" ||
      { ok=false why="$f did not report the failed punch with a reason"; }
  done
  for f in a1 a2 b1 s1 b2; do
    { echo "== $f"; cat "$d/$f.out" "$d/$f.err"; } >>"$log"
  done
  cat "$d/signal.log" >>"$log"
  local setup
  setup=$(sed -n 's/.*"mesh_ms":\([0-9.]*\).*/\1/p' "$d/b1.out" | head -n 1)
  $ok && why="3 ENet peers (host + 2 NATs) meshed in ${setup:-?} ms; symmetric NAT: failed with reason"
  report "$name" "$t0" "$ok" "$why" "$log"
}
enet_case

# NAT rebinding: the symmetric NAT forgets its mappings (conntrack flushed)
# in the middle of a paced transfer, so s1's packets leave from a new port;
# the side on the internet follows it there (no ICE restart: the peer tool
# is not even allowed one), and the reliable channel delivers everything
# once, in order.
run_case rebinding-after-nat-flush \
  "$(peer pubhost 203.0.113.50 --offer --send 300 --size 1200 --interval 15 --timeout 50)" \
  "$(peer s1 10.0.3.2 --answer --echo --timeout 50)" \
  'a["replies"] == 300 and a.get("ice_restarts", 0) == 0 and log.count("selected pair host 203.0.113.50") >= 2' \
  'wait_for "$log" "\"event\":\"open\"" 20; sleep 1.5; nat_flush natS'

# ICE restart: the NAT drops everything for 8 s (the link goes DISCONNECTED:
# the offerer restarts ICE, whose checks cannot pass yet) and comes back
# with its mappings forgotten; the restarted ICE finds the new path and the
# reliable channel delivers everything once, in order.
run_case restart-after-nat-outage \
  "$(peer pubhost 203.0.113.50 --offer --restart-ice --send 300 --size 1200 --interval 15 --timeout 50)" \
  "$(peer s1 10.0.3.2 --answer --echo --timeout 50)" \
  'a.get("ice_restarts", 0) >= 1 and a["replies"] == 300' \
  'wait_for "$log" "\"event\":\"open\"" 20; sleep 1.5; nat_block natS; sleep 8; nat_flush natS; nat_unblock natS'

echo "$passed passed, $failed failed, $skipped skipped ($((($(date +%s%N) - t_start) / 1000000)) ms)"
[ "$failed" -eq 0 ] && [ -z "${NAT_LOGS:-}" ] || cp -r "$logs" "${NAT_KEEP_LOGS:-/dev/null}" 2>/dev/null
[ "$failed" -eq 0 ]
