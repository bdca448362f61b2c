#!/usr/bin/env bash
# tests/godot3/rpc_mesh.sh PEERMESH-SIGNAL PEERMESH ADDON_DIR — Godot 3.2's
# high-level multiplayer over the WebRTC mesh: two godot3-server processes
# on the add-on (WebRTCMultiplayer as network_peer, found through
# peermesh-signal by examples/godot3/webrtc-chat/signaling.gd) and a C peer (`peermesh rpc
# probe`, peermesh's signaling client and mesh under rpc.h) in one lobby:
#
#   H  Godot, creates the lobby (peer 1): the Echo server of
#      tests/godot/rpc3 (echo_server.gd), in mesh mode
#   N  the C probe: the whole Echo conversation with H (every Variant type,
#      rset, unreliable, raw bytes, RPC modes both ways, a local
#      remotesync call) and a greeting with G, directly over the mesh
#   G  Godot, the same conversation (client.gd) and a greeting with N
#
# Exit 77 (skipped) without godot3-server; 1 then under CI=true, where
# scripts/install-deps.sh interop installs it.
set -u
SIGNAL=${1:?usage: rpc_mesh.sh PEERMESH-SIGNAL PEERMESH ADDON_DIR}
PM=${2:?usage: rpc_mesh.sh PEERMESH-SIGNAL PEERMESH ADDON_DIR}
ADDON=${3:?usage: rpc_mesh.sh PEERMESH-SIGNAL PEERMESH ADDON_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=${PM_GODOT3_TIMEOUT:-60}

# shellcheck source=common.sh
. "$HERE/common.sh"
# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
pm_godot3_find
for exe in "$SIGNAL" "$PM"; do
  [ -x "$exe" ] || { echo "FAIL: $exe is not built"; exit 1; }
done

pm_work godot3-rpc-mesh
pm_godot3_project "$HERE/../godot/rpc3" "$ADDON" "$WORK/project"
cp "$HERE/../../examples/godot3/webrtc-chat/signaling.gd" "$WORK/project/"
printf '\n[gdnative]\n\nsingletons=[ "res://addons/peermesh/peermesh.tres" ]\n' \
  >>"$WORK/project/project.godot"
mkdir -p "$WORK/home"
export PEERMESH_BIND_ADDRESS=127.0.0.1 # the add-on's peers stay on loopback

bail() {
  echo "FAIL: $1"
  show "$WORK/H.log" "$WORK/G.log" "$WORK/N.log" "$WORK/server.log"
  exit 1
}

timeout -k 3 $((LIMIT + 10)) "$SIGNAL" --bind 127.0.0.1 --port 0 >"$WORK/server.log" 2>&1 &
PIDS+=("$!")
for _ in $(seq 200); do
  PORT=$(sed -n 's/.*listening on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$WORK/server.log" |
    head -n1)
  [ -n "$PORT" ] && break
  sleep 0.05
done
[ -n "${PORT:-}" ] || bail "peermesh-signal did not start"
URL="ws://127.0.0.1:$PORT/"

HOME="$WORK/home" timeout -k 3 "$LIMIT" "$GODOT" --path "$WORK/project" -s server.gd -- \
  transport=mesh url="$URL" ready="$WORK/lobby.txt" done="$WORK/done" peers=99 \
  timeout=$((LIMIT - 5)) >"$WORK/H.log" 2>&1 &
HPID=$!
PIDS+=("$HPID")
for _ in $(seq 400); do
  [ -s "$WORK/lobby.txt" ] && break
  sleep 0.05
done
[ -s "$WORK/lobby.txt" ] || bail "H did not create a lobby"
LOBBY=$(cat "$WORK/lobby.txt")

HOME="$WORK/home" timeout -k 3 "$LIMIT" "$GODOT" --path "$WORK/project" -s client.gd -- \
  transport=mesh url="$URL" lobby="$LOBBY" others=1 godot_server=1 timeout=$((LIMIT - 10)) \
  >"$WORK/G.log" 2>&1 &
GPID=$!
PIDS+=("$GPID")
timeout -k 3 "$LIMIT" "$PM" rpc probe --signal "$URL" --lobby "$LOBBY" --others 1 \
  --timeout $((LIMIT - 10)) >"$WORK/N.log" 2>&1
NRC=$?
wait "$GPID"
GRC=$?
touch "$WORK/done"
wait "$HPID"
HRC=$?

fail=0
if [ $NRC = 0 ] && grep -q '"event":"result","ok":true' "$WORK/N.log"; then
  echo "PASS: C peer N over the mesh: $(grep -o '"checks".*' "$WORK/N.log" | cut -c1-200)"
else
  echo "FAIL: C peer N (exit $NRC)"
  fail=1
fi
if [ $GRC = 0 ] && grep -q '^RESULT ok' "$WORK/G.log"; then
  echo "PASS: Godot peer G over the mesh: $(grep '^RESULT' "$WORK/G.log" | cut -c1-200)"
else
  echo "FAIL: Godot peer G"
  fail=1
fi
# H (Godot) itself must have refused the forbidden calls of both: 3 each.
refused=$(grep -c 'is not allowed on node /root/Echo' "$WORK/H.log")
if [ $HRC = 0 ] && [ "$refused" -eq 6 ]; then
  echo "PASS: Godot host H served both and refused their 6 forbidden calls"
else
  echo "FAIL: Godot host H (exit $HRC, $refused calls refused, 6 expected)"
  fail=1
fi
[ $fail = 0 ] || bail "see the logs"
echo "RPC over the WebRTC mesh: ok"
