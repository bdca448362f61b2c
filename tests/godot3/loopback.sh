#!/usr/bin/env bash
# tests/godot3/loopback.sh ADDON_DIR — Godot 3.2's WebRTCPeerConnection and
# WebRTCDataChannel on libpeermesh_godot3.so: two connections in one
# godot3-server process over real loopback (see loopback/loopback_test.gd).
#
# ADDON_DIR is a built add-on folder (build/godot3/addons/peermesh, or the
# sanitizer build's). With PM_GODOT3_ASAN=1 the run happens under
# AddressSanitizer (LD_PRELOAD of the runtime the library links): any ASan
# or UBSan report fails the test, and so does a leak whose allocation stack
# passes through the add-on. Exit 77 (skipped) when godot3-server is missing,
# 1 then under CI=true.
set -u
ADDON=${1:?usage: loopback.sh ADDON_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=${PM_GODOT3_TIMEOUT:-60}

# shellcheck source=common.sh
. "$HERE/common.sh"
# shellcheck source=../support/procs.sh
. "$HERE/../support/procs.sh"
pm_godot3_find
pm_work godot3-loopback
pm_godot3_project "$HERE/loopback" "$ADDON" "$WORK/project"
mkdir -p "$WORK/home"

PRELOAD=""
if [ "${PM_GODOT3_ASAN:-0}" = 1 ]; then
  PRELOAD=$(ldd "$ADDON/libpeermesh_godot3.so" | awk '/libasan/ {print $3}')
  [ -n "$PRELOAD" ] || { echo "FAIL: $ADDON/libpeermesh_godot3.so is not built with ASan"; exit 1; }
  export ASAN_OPTIONS="detect_leaks=1:exitcode=0:log_path=$WORK/asan:malloc_context_size=40"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$WORK/ubsan"
  echo "under AddressSanitizer: LD_PRELOAD=$PRELOAD"
fi

LOG="$WORK/godot.log"
start=$(date +%s%N)
HOME="$WORK/home" LD_PRELOAD="$PRELOAD" timeout -k 3 "$LIMIT" "$GODOT" --path "$WORK/project" \
  -s loopback_test.gd timeout=$((LIMIT - 5)) >"$LOG" 2>&1
STATUS=$?
ms=$((($(date +%s%N) - start) / 1000000))

fail=""
[ $STATUS -eq 0 ] || fail="godot exit $STATUS"
grep -q '^RESULT ok' "$LOG" || fail="${fail:+$fail; }no RESULT ok"
# The add-on counts what it allocated for Godot's objects; at exit all is gone.
if grep -q 'still alive at exit' "$LOG"; then
  fail="${fail:+$fail; }$(grep -o 'still alive at exit.*' "$LOG")"
fi
if [ "${PM_GODOT3_ASAN:-0}" = 1 ]; then
  for f in "$WORK"/asan.* "$WORK"/ubsan.*; do
    [ -f "$f" ] || continue
    # Godot's own leaks at exit are not ours: only reports that name the add-on count.
    if grep -q 'ERROR: AddressSanitizer\|runtime error' "$f" ||
      awk '/^(Direct|Indirect) leak/ {l=$0} /libpeermesh_godot3/ && l {print l; l=""}' "$f" | grep -q .; then
      fail="${fail:+$fail; }sanitizer report $f"
      sed -n 1,60p "$f"
    fi
  done
fi
if [ -z "$fail" ]; then
  echo "PASS: $(grep '^RESULT' "$LOG") in $ms ms"
  exit 0
fi
echo "FAIL: $fail"
grep -v '^ok ' "$LOG" | tail -n 60
exit 1
