#!/bin/bash
# mesh_chromium.sh: the WebRTC mesh against headless Chromium (CTest label "interop").
#
#   tests/interop/mesh_chromium.sh PEERMESH_BINARY
#
# `peermesh mesh-peer` is a 2-node mesh (include/peermesh/mesh.h) speaking the
# interop peer interface; tests/interop/chromium/peer.js runs Godot's three
# negotiated channels in a browser page (--channels reliable,ordered,unreliable,
# ids 1, 2, 3). Both directions, through pair.py:
#
#   mesh>chromium        the mesh sends on every channel, Chromium echoes; with
#                        500 ms lifetimes every channel must carry replies
#   chromium>mesh        Chromium sends, the mesh echoes (get_packet gives the
#                        sender and mode; the echo goes back on the same channel)
#   chromium>mesh godot  the same with Godot's 1 ms lifetimes (losses on the lossy
#                        channels are reported, not failed: Chromium abandons most
#                        of a burst before sending it)
#
# Exit 77 (CTest SKIP_RETURN_CODE) when Chromium or Node.js >= 18 is missing;
# under CI=true that is a failure (tests/support/skip.sh).
set -u
here=$(cd "$(dirname "$0")" && pwd)
pm=${1:?usage: mesh_chromium.sh PEERMESH_BINARY}
chromium=${CHROMIUM:-/usr/bin/chromium}
# shellcheck source=../support/skip.sh
. "$here/../support/skip.sh"

[ -x "$chromium" ] || pm_skip "$chromium not installed (scripts/install-deps.sh interop)"
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
[ "$node_major" -ge 18 ] || pm_skip "Node.js >= 18 not installed (scripts/install-deps.sh interop)"
command -v python3 >/dev/null 2>&1 || pm_skip "python3 (for pair.py) not installed"

godot="--channels reliable,ordered,unreliable"
to="--timeout 30"
chrome="node $here/chromium/peer.js"
passed=0 failed=0

# run NAME MIN_LOSSY_REPLIES "A" "B": pair.py must pass, and every channel must
# have carried at least MIN_LOSSY_REPLIES replies; 0 only where Chromium's 1 ms
# lifetimes can abandon a whole burst (pair.py --silent-lossy-ok).
run() {
  local name=$1 min=$2 a=$3 b=$4 summary detail lax=""
  [ "$min" -eq 0 ] && lax=--silent-lossy-ok
  # shellcheck disable=SC2086 # $lax is one option or none
  summary=$(python3 "$here/pair.py" -q --timeout 45 $lax "$a" "$b" 2>"${TMPDIR:-/tmp}/mesh_chromium.$$.log")
  detail=$(printf '%s\n' "$summary" | tail -n 1 | python3 -c '
import json, sys
min_replies = int(sys.argv[1])
try:
    s = json.loads(sys.stdin.read())
except ValueError:
    print("FAIL no summary from pair.py"); sys.exit()
chans = (s.get("throughput") or {}).get("channels") or []
text = ", ".join("%s %s/%s" % (c["label"], c["replies"], c["sent"]) for c in chans)
if not s["ok"]:
    print("FAIL " + "; ".join(s["errors"])[:300]); sys.exit()
if len(chans) != 3 or any(c["replies"] < min_replies for c in chans):
    print("FAIL a channel carried too few replies: " + text); sys.exit()
print("PASS connect %s ms, %s" % (s.get("connect_ms"), text))
' "$min")
  echo "${detail%% *}  $name: ${detail#* }"
  if [ "${detail%% *}" = PASS ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    sed 's/^/    /' "${TMPDIR:-/tmp}/mesh_chromium.$$.log" | tail -n 40
  fi
  rm -f "${TMPDIR:-/tmp}/mesh_chromium.$$.log"
}

run "mesh>chromium (500 ms lifetimes)" 1 \
  "$pm mesh-peer --offer $godot --max-packet-lifetime 500 --send 20 --size 1,1200,16384 $to" \
  "$chrome --answer $godot --max-packet-lifetime 500 --echo $to"
run "chromium>mesh (500 ms lifetimes)" 1 \
  "$chrome --offer $godot --max-packet-lifetime 500 --send 20 --size 1,1200,16384 $to" \
  "$pm mesh-peer --answer $godot --max-packet-lifetime 500 --echo $to"
run "chromium>mesh (Godot's 1 ms lifetimes)" 0 \
  "$chrome --offer $godot --send 20 --size 1,1200,16384 $to" \
  "$pm mesh-peer --answer $godot --echo $to"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
