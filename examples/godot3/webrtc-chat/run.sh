#!/usr/bin/env bash
# The WebRTC chat example on the peermesh add-on, after `make build`:
#
#   examples/godot3/webrtc-chat/run.sh             a window (godot3) chatting with
#                                                  an echo bot (godot3-server)
#   examples/godot3/webrtc-chat/run.sh --headless  two godot3-server peers say hello
#                                                  to each other and quit
#
# Options: --server ws://HOST:PORT/ uses a running signaling server instead of
# starting build/peermesh-signal on 127.0.0.1; --lobby NAME joins that lobby
# (window mode) instead of the bot's. $BUILD is the build folder (default
# build/). The project is laid out in $BUILD/godot3/webrtc-chat with the
# add-on from $BUILD/godot3/addons/peermesh; everything started here stops
# when the window closes (or the headless peers are done).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
HEADLESS=0 SERVER="" LOBBY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --headless) HEADLESS=1 ;;
    --server) SERVER=${2:?--server needs a URL}; shift ;;
    --lobby) LOBBY=${2:?--lobby needs a name}; shift ;;
    -h | --help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done
ADDON="$BUILD/godot3/addons/peermesh"
[ -f "$ADDON/libpeermesh_godot3.so" ] || { echo "no add-on in $ADDON: run make build" >&2; exit 1; }
command -v godot3-server >/dev/null || { echo "godot3-server is not installed (apt install godot3-server)" >&2; exit 1; }
if [ $HEADLESS = 0 ] && ! command -v godot3 >/dev/null; then
  echo "godot3 is not installed (apt install godot3), or use --headless" >&2
  exit 1
fi

PROJECT="$BUILD/godot3/webrtc-chat"
rm -rf "$PROJECT"
mkdir -p "$PROJECT/addons"
cp "$HERE"/project.godot "$HERE"/*.gd "$HERE"/*.tscn "$PROJECT/"
cp -r "$ADDON" "$PROJECT/addons/peermesh"
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/webrtc-chat.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && kill "$pid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$LOGS"
}
trap cleanup EXIT
export PEERMESH_BIND_ADDRESS=${PEERMESH_BIND_ADDRESS:-127.0.0.1} # all on this machine

wait_line() { # FILE PATTERN: print the first matching line's last word
  for _ in $(seq 300); do
    line=$(grep -m1 -- "$2" "$1" 2>/dev/null) && { echo "${line##* }"; return 0; }
    sleep 0.05
  done
  return 1
}

if [ -z "$SERVER" ]; then
  [ -x "$BUILD/peermesh-signal" ] || { echo "no $BUILD/peermesh-signal: run make build" >&2; exit 1; }
  "$BUILD/peermesh-signal" --bind 127.0.0.1 --port 0 >"$LOGS/server.log" 2>&1 &
  PIDS+=("$!")
  wait_line "$LOGS/server.log" "listening on 127.0.0.1 port" >/dev/null || { cat "$LOGS/server.log"; exit 1; }
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$LOGS/server.log" | head -n1)
  SERVER="ws://127.0.0.1:$PORT/"
  echo "peermesh-signal on $SERVER"
fi

peer() { # peer LOG ARGS...: a headless chat peer
  local log=$1
  shift
  HOME="$LOGS" godot3-server --path "$PROJECT" url="$SERVER" "$@" >"$log" 2>&1 &
  PIDS+=("$!")
}

if [ $HEADLESS = 1 ]; then
  peer "$LOGS/alice.log" name=alice say="hello from alice" quit_after=1
  LOBBY=$(wait_line "$LOGS/alice.log" "^LOBBY ") || { cat "$LOGS/alice.log"; exit 1; }
  peer "$LOGS/bob.log" lobby="$LOBBY" name=bob say="hello from bob" quit_after=1
  status=0
  for i in 1 2; do wait "${PIDS[$i]}" || status=1; done
  for who in alice bob; do
    echo "--- $who"
    grep -v '^ERROR: \(get_language_code\|set_locale\|make_dir\)\|^   At: \|^Godot Engine\|^ *$' "$LOGS/$who.log"
  done
  if grep -q '^\[bob\] hello from bob' "$LOGS/alice.log" && grep -q '^\[alice\] hello from alice' "$LOGS/bob.log"; then
    echo "chat ok: alice and bob heard each other"
    exit $status
  fi
  echo "chat failed"
  exit 1
fi

if [ -z "$LOBBY" ]; then
  peer "$LOGS/bot.log" name="echo bot" echo=1
  LOBBY=$(wait_line "$LOGS/bot.log" "^LOBBY ") || { cat "$LOGS/bot.log"; exit 1; }
  echo "an echo bot waits in lobby $LOBBY"
fi
echo "opening the chat window (close it to stop)"
godot3 --path "$PROJECT" url="$SERVER" lobby="$LOBBY" name=you
