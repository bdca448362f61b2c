#!/usr/bin/env bash
# tests/examples/run.sh BUILD_DIR — the examples a user copies, run the way
# their READMEs say, on 127.0.0.1: hello-pair (the offer and answer carried
# through two pipes instead of by hand), mesh-chat (two rooms members
# through peermesh-signal), enet-hello (server and client), game-loop (two
# players, two seconds of position updates).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
BUILD=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
EX="$BUILD/examples"
pm_work examples
fail() { echo "FAIL: $1"; show "$WORK"/*.log; exit 1; }
wait_for() { # FILE PATTERN
  for _ in $(seq 200); do grep -q -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  fail "no '$2' in $1"
}

# hello-pair: each side's stdout is the other's stdin.
mkfifo "$WORK/to_answer" "$WORK/to_offer"
timeout -k 2 40 "$EX/hello-pair/hello-pair" offer 127.0.0.1 >"$WORK/to_answer" \
  <"$WORK/to_offer" 2>"$WORK/offer.log" &
OFFER=$!
PIDS+=("$OFFER")
timeout -k 2 40 "$EX/hello-pair/hello-pair" answer 127.0.0.1 <"$WORK/to_answer" \
  >"$WORK/to_offer" 2>"$WORK/answer.log" || fail "hello-pair answer failed"
wait "$OFFER" || fail "hello-pair offer failed"
grep -q "received: hello from the answering side" "$WORK/offer.log" || fail "no hello for offer"
grep -q "received: hello from the offering side" "$WORK/answer.log" || fail "no hello for answer"
echo "hello-pair: ok"

# peermesh-signal with named lobbies, for mesh-chat and game-loop.
"$BUILD/peermesh-signal" --port 0 --named-lobbies >"$WORK/signal.log" 2>&1 &
PIDS+=("$!")
wait_for "$WORK/signal.log" "listening on 127.0.0.1 port"
URL="ws://127.0.0.1:$(sed -n 's/.*listening on 127.0.0.1 port \([0-9]*\).*/\1/p' "$WORK/signal.log")"

# mesh-chat: alice creates "room", bob joins and speaks; alice hears him.
mkfifo "$WORK/alice.in"
timeout -k 2 30 "$EX/mesh-chat/mesh-chat" "$URL" room new <"$WORK/alice.in" \
  >"$WORK/alice.log" 2>&1 &
PIDS+=("$!")
exec 3>"$WORK/alice.in"
wait_for "$WORK/alice.log" "in lobby room as peer 1"
mkfifo "$WORK/bob.in"
timeout -k 2 30 "$EX/mesh-chat/mesh-chat" "$URL" room <"$WORK/bob.in" >"$WORK/bob.log" 2>&1 &
PIDS+=("$!")
exec 4>"$WORK/bob.in"
wait_for "$WORK/bob.log" "peer 1: peer_connected"
echo "hello room" >&4
wait_for "$WORK/alice.log" "\] hello room"
exec 4>&- 3>&-
echo "mesh-chat: ok"

# enet-hello: a server, a client that says hello and leaves.
timeout -k 2 30 "$EX/enet-hello/enet-hello" server 0 127.0.0.1 >"$WORK/enet-server.log" 2>&1 &
PIDS+=("$!")
wait_for "$WORK/enet-server.log" "listening on port"
PORT=$(sed -n 's/.*listening on port \([0-9]*\).*/\1/p' "$WORK/enet-server.log")
timeout -k 2 20 "$EX/enet-hello/enet-hello" client 127.0.0.1 "$PORT" >"$WORK/enet-client.log" 2>&1 ||
  fail "enet-hello client failed"
grep -q "client got: hello back" "$WORK/enet-client.log" || fail "no answer for the client"
wait_for "$WORK/enet-server.log" "disconnected"
echo "enet-hello: ok"

# game-loop: two players for two seconds each; both saw the other move.
timeout -k 2 30 "$EX/game-loop/game-loop" "$URL" arena host 4 >"$WORK/host.log" 2>&1 &
HOST=$!
PIDS+=("$HOST")
wait_for "$WORK/host.log" "in lobby arena as peer 1"
timeout -k 2 30 "$EX/game-loop/game-loop" "$URL" arena join 2 >"$WORK/join.log" 2>&1 ||
  fail "the joining player failed"
wait "$HOST" || fail "the hosting player failed"
grep -q "^peer 1: [1-9][0-9]* position updates" "$WORK/join.log" || fail "join saw no updates"
grep -q "^peer [0-9]*: [1-9][0-9]* position updates" "$WORK/host.log" || fail "host saw none"
echo "game-loop: ok"
echo "PASS: examples"
