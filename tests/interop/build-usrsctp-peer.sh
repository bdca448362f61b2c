#!/bin/sh
# build-usrsctp-peer.sh: build `peermesh` with usrsctp under its data
# channels (CMake PM_SCTP=usrsctp), the interop suite's "usrsctp" partner:
# peermesh as it was before it had its own SCTP, paired with the default
# build.
#
#   tests/interop/build-usrsctp-peer.sh [BUILD_DIR]   (default: build/interop/usrsctp)
#
# Prints the binary's path on its last line. Incremental: a second run only
# rebuilds what changed. Needs libusrsctp-dev (scripts/install-deps.sh build).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=${1:-build/interop/usrsctp}
case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac

generator=""
command -v ninja >/dev/null 2>&1 && generator="-G Ninja"
if [ ! -f "$dir/CMakeCache.txt" ]; then
  # shellcheck disable=SC2086 # generator is empty or two words
  cmake -S "$root" -B "$dir" $generator -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPM_SCTP=usrsctp \
    -DPM_TESTS=OFF >/dev/null
fi
cmake --build "$dir" --target peermesh_cli -j "$(nproc)"
echo "$dir/peermesh"
