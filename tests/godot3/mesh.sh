#!/usr/bin/env bash
# tests/godot3/mesh.sh PEERMESH-SIGNAL MESH-CNODE ADDON_DIR — the tutorial
# on the add-on: WebRTCMultiplayer as get_tree().network_peer in three
# godot3-server processes that find each other through peermesh-signal (a
# GDScript client of the demo's 4.x JSON protocol, mesh/mesh_member.gd),
# plus a C mesh node (mesh_cnode.c) and a headless Chromium page
# (chromium/page.js) in the same lobby:
#
#   H  Godot, creates the lobby (peer 1), initialize(1, true); it holds its
#      signaling back until the others are connected among themselves
#   B  Godot, initialize(id, true): server compatibility
#   C  Godot, initialize(id, false): mesh mode
#   N  C node (peermesh's signaling client and mesh)
#   W  Chromium page
#
# Checked: every link connects (each member READY with 4 peers); an RPC from
# each Godot process reaches every other member (Godot runs it; N and W see
# the RPC packet); server compatibility as the class reference describes it
# (B: nothing before peer 1, then peer_connected(1), connection_succeeded and
# the held-back peers in one burst; server_disconnected when peer 1 leaves)
# and mesh mode (C: at once, no server signals); everyone sees peer 1 leave.
# Reported: the delivery ratio of unreliable packets with Godot's default
# 1 ms lifetime, per sender kind and receiver kind, sent paced (ten per
# millisecond, as a game sends) and in one burst.
#
# Exit 77 (skipped) without godot3-server, Chromium or Node.js >= 18; 1
# then under CI=true, where scripts/install-deps.sh interop installs them.
set -u
SIGNAL=${1:?usage: mesh.sh PEERMESH-SIGNAL MESH-CNODE ADDON_DIR}
CNODE=${2:?usage: mesh.sh PEERMESH-SIGNAL MESH-CNODE ADDON_DIR}
ADDON=${3:?usage: mesh.sh PEERMESH-SIGNAL MESH-CNODE ADDON_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
LIMIT=${PM_GODOT3_TIMEOUT:-60}
BURST=200

# shellcheck source=common.sh
. "$HERE/common.sh"
# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
pm_godot3_find
[ -x "$CHROMIUM" ] || pm_godot3_skip "$CHROMIUM not installed (scripts/install-deps.sh interop)"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 18 ] || pm_godot3_skip "Node.js >= 18 not installed (scripts/install-deps.sh interop)"
for exe in "$SIGNAL" "$CNODE"; do
  [ -x "$exe" ] || { echo "FAIL: $exe is not built"; exit 1; }
done

pm_work godot3-mesh
pm_godot3_project "$HERE/mesh" "$ADDON" "$WORK/project"
GATES="$WORK/gates"
mkdir -p "$WORK/home" "$GATES"
export PEERMESH_BIND_ADDRESS=127.0.0.1 # the add-on's peers stay on loopback
started=$(date +%s%N)

# wait_for FILE PATTERN [SECONDS]: until a line of FILE matches.
wait_for() {
  local end=$((SECONDS + ${3:-$LIMIT}))
  while [ $SECONDS -lt $end ]; do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
# all_have PATTERN: every member's log has a matching line (waits).
all_have() {
  for m in H B C N W; do
    wait_for "$WORK/$m.log" "$1" || { echo "FAIL: $m never printed \"$1\""; return 1; }
  done
}
bail() {
  echo "FAIL: $1"
  for m in H B C N W; do show "$WORK/$m.log"; done
  show "$WORK/server.log"
  exit 1
}

timeout -k 3 $((LIMIT + 10)) "$SIGNAL" --bind 127.0.0.1 --port 0 --log-level info \
  >"$WORK/server.log" 2>&1 &
PIDS+=("$!")
wait_for "$WORK/server.log" "listening on 127.0.0.1 port" 10 || bail "peermesh-signal did not start"
PORT=$(sed -n 's/.*listening on 127\.0\.0\.1 port \([0-9]*\).*/\1/p' "$WORK/server.log" | head -n1)
URL="ws://127.0.0.1:$PORT/"

godot() { # godot NAME LOBBY COMPAT
  HOME="$WORK/home" timeout -k 3 "$LIMIT" "$GODOT" --path "$WORK/project" -s mesh_member.gd \
    name="$1" url="$URL" lobby="$2" lobby_file="$WORK/lobby.txt" gates="$GATES" compat="$3" \
    peers=4 burst=$BURST timeout=$((LIMIT - 5)) >"$WORK/$1.log" 2>&1 &
  PIDS+=("$!")
}
godot H "" 1
wait_for "$WORK/lobby.txt" . 20 || bail "H did not create a lobby"
LOBBY=$(cat "$WORK/lobby.txt")
godot B "$LOBBY" 1
godot C "$LOBBY" 0
timeout -k 3 "$LIMIT" "$CNODE" "$URL" "$LOBBY" "$GATES" 4 $BURST $((LIMIT - 5)) >"$WORK/N.log" 2>&1 &
PIDS+=("$!")
PM_PAGE_PARAMS="lobby=$LOBBY&peers=4&burst=$BURST" PM_GATE_DIR="$GATES" \
  timeout -k 3 "$LIMIT" node "$HERE/../signal-chromium/driver.js" "$URL" $((LIMIT - 5)) \
  "$HERE/chromium/page.html" >"$WORK/W.log" 2>&1 &
PIDS+=("$!")

# B is connected to C, N and W (server compatibility still hides them): let
# peer 1 in.
wait_for "$WORK/B.log" "^LINKS 3" || bail "B's links to C, N and W did not connect"
touch "$GATES/h_go"
all_have "^READY" || bail "not every member got its 4 links"
touch "$GATES/send"
all_have "^SENT" || bail "not every member sent"
sleep 1 # the last unreliable packets land
touch "$GATES/report"
for m in H B C N W; do wait_for "$WORK/$m.log" "^UNREL" 5; done
sleep 0.3
touch "$GATES/leave"
for pid in "${PIDS[@]:1}"; do wait "$pid"; done
ms=$((($(date +%s%N) - started) / 1000000))

# ---- verdict ----
fail=0
declare -A ID KIND
for m in H B C N W; do
  id=$(sed -n "s/^ID $m \([0-9]*\)$/\1/p" "$WORK/$m.log" | head -n1)
  [ -n "$id" ] || { echo "FAIL: no id for $m"; fail=1; continue; }
  ID[$m]=$id
  case $m in H | B | C) KIND[$id]=godot ;; N) KIND[$id]=c ;; W) KIND[$id]=chromium ;; esac
  line=$(grep '^RESULT' "$WORK/$m.log" | tail -n1)
  echo "$m (id $id): ${line:-no RESULT}"
  case "$line" in "RESULT ok"*) ;; *) fail=1 ;; esac
done
for g in H B C; do
  for m in H B C N W; do
    [ "$m" = "$g" ] && continue
    if ! grep -q "^RPC $g ${ID[$g]:-x}\$" "$WORK/$m.log"; then
      echo "FAIL: the RPC from $g did not reach $m"
      fail=1
    fi
  done
done
[ $fail = 0 ] && echo "RPC: ping() from each of H, B, C reached the 4 other members"

# Delivery of the unreliable bursts, per sender kind -> receiver kind.
declare -A GOT BURSTGOT PAIRS
for m in H B C N W; do
  rk=${KIND[${ID[$m]:-0}]:-?}
  while read -r _ from n b; do
    sk=${KIND[$from]:-?}
    GOT["$sk>$rk"]=$((${GOT["$sk>$rk"]:-0} + n))
    BURSTGOT["$sk>$rk"]=$((${BURSTGOT["$sk>$rk"]:-0} + b))
  done < <(grep '^UNREL ' "$WORK/$m.log")
  for s in H B C N W; do
    [ "$s" = "$m" ] && continue
    sk=${KIND[${ID[$s]:-0}]:-?}
    PAIRS["$sk>$rk"]=$((${PAIRS["$sk>$rk"]:-0} + 1))
  done
done
echo "unreliable delivery with Godot's default 1 ms lifetime, $BURST packets per sender and"
echo "receiver, paced (10 per ms, as a game sends) and in one burst:"
printf '  %-15s %17s %17s\n' "sender>receiver" "paced" "burst"
for key in "godot>godot" "godot>c" "godot>chromium" "c>godot" "chromium>godot" "c>chromium" "chromium>c"; do
  sent=$((${PAIRS[$key]:-0} * BURST))
  [ $sent -gt 0 ] || continue
  awk -v k="$key" -v p="${GOT[$key]:-0}" -v b="${BURSTGOT[$key]:-0}" -v n=$sent \
    'BEGIN { printf "  %-15s %5d/%-5d %5.1f%% %5d/%-5d %5.1f%%\n", k, p, n, 100 * p / n, b, n, 100 * b / n }'
done
echo "elapsed: $ms ms"
if [ $fail = 0 ]; then
  echo "PASS: mesh of 3 Godot processes, a C node and Chromium through peermesh-signal"
  exit 0
fi
for m in H B C N W; do show "$WORK/$m.log"; done
exit 1
