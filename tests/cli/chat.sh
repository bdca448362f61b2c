#!/usr/bin/env bash
# tests/cli/chat.sh BUILD_DIR — `peermesh chat` as a person meets it, through
# peermesh-signal --named-lobbies on 127.0.0.1: alice creates lobby "friday"
# and is told she is alone (a line typed then is not sent, and she hears
# so); bob joins it by name, sends a line, a 2500-byte line (it arrives in
# three parts, nothing cut), an unknown /command (help, not sent) and
# "//slash" (sent as "/slash"); his input ends and he leaves cleanly after
# his lines went out; alice sees him go at once. Then the web demo's bot
# joins: its binary packets are not printed raw.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
BUILD=$(cd "${1:?usage: chat.sh BUILD_DIR}" && pwd)
PM="$BUILD/peermesh"
pm_work chat

wait_for() { # FILE PATTERN: up to 10 s
  for _ in $(seq 200); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "FAIL: no '$2' in $1"
  show "$WORK"/*.log
  exit 1
}

"$BUILD/peermesh-signal" --port 0 --named-lobbies --ping-interval 1 >"$WORK/signal.log" 2>&1 &
PIDS+=("$!")
wait_for "$WORK/signal.log" "listening on 127.0.0.1 port"
URL="ws://127.0.0.1:$(sed -n 's/.*listening on 127.0.0.1 port \([0-9]*\).*/\1/p' "$WORK/signal.log")"

mkfifo "$WORK/alice.in" "$WORK/bob.in"
timeout -k 2 30 "$PM" chat --server "$URL" --create friday --bind 127.0.0.1 \
  <"$WORK/alice.in" >"$WORK/alice.log" 2>&1 &
ALICE=$!
PIDS+=("$ALICE")
exec 3>"$WORK/alice.in"
wait_for "$WORK/alice.log" "in lobby friday"
wait_for "$WORK/alice.log" "nobody else here yet$"
echo "anyone?" >&3
wait_for "$WORK/alice.log" "nobody else here yet: not sent"

timeout -k 2 30 "$PM" chat --server "$URL" --lobby friday --bind 127.0.0.1 \
  <"$WORK/bob.in" >"$WORK/bob.log" 2>&1 &
BOB=$!
PIDS+=("$BOB")
exec 4>"$WORK/bob.in"
wait_for "$WORK/bob.log" "peer 1 connected"
echo "hello alice" >&4
head -c 2500 /dev/zero | tr '\0' x >&4
echo >&4
echo "/bogus" >&4
echo "//slash" >&4
exec 4>&- # end of bob's input: he leaves once his lines are out
wait "$BOB"
status=$?
[ "$status" -eq 0 ] || { echo "FAIL: bob exited $status"; show "$WORK/bob.log"; exit 1; }
wait_for "$WORK/alice.log" "left the lobby"
# A program that is not a chat (the web demo's bot) sends binary packets: alice
# says so instead of writing their bytes to her terminal.
timeout -k 2 20 "$PM" bot --server "$URL" --lobby friday --duration 1.5 >"$WORK/bot.log" 2>&1 ||
  { echo "FAIL: the bot exited $?"; show "$WORK/bot.log" "$WORK/alice.log"; exit 1; }
exec 3>&-
wait "$ALICE" || { echo "FAIL: alice exited $?"; show "$WORK/alice.log"; exit 1; }

fail() { echo "FAIL: $1"; show "$WORK/alice.log" "$WORK/bob.log"; exit 1; }
grep -q "^\[[0-9]*\] hello alice$" "$WORK/alice.log" || fail "alice did not get bob's line"
parts=$(grep -c "^\[[0-9]*\] x*$" "$WORK/alice.log")
[ "$parts" -eq 3 ] || fail "the long line came in $parts parts, not 3"
total=$(grep "^\[[0-9]*\] x*$" "$WORK/alice.log" | sed 's/^\[[0-9]*\] //' | tr -d '\n' | wc -c)
[ "$total" -eq 2500 ] || fail "the long line has $total bytes, not 2500"
grep -q "^\[[0-9]*\] /slash$" "$WORK/alice.log" || fail "// did not send a line starting with /"
grep -q "bogus" "$WORK/alice.log" && fail "an unknown /command was sent"
grep -q "unknown command /bogus" "$WORK/bob.log" || fail "bob got no help for /bogus"
grep -q "leaving" "$WORK/bob.log" || fail "bob did not leave"
grep -q "^\[[0-9]*\] ([0-9]* bytes that are not text)$" "$WORK/alice.log" ||
  fail "alice did not say a binary packet was not text"
LC_ALL=C grep -q "[[:cntrl:]]" "$WORK/alice.log" && fail "a control byte reached alice's output"
echo "PASS: chat (named lobby, alone, long line in 3 parts, /commands, clean leave, binary)"
