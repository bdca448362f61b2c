#!/usr/bin/env bash
# Install the built library into a scratch prefix, then build and run a
# consumer three ways: pkg-config (shared), pkg-config --static, CMake package.
# $CFLAGS (also seen by CMake) goes to every compile and link: the ASan build
# sets the sanitizer flags, which a consumer of a sanitized library needs.
set -euo pipefail
build=${1:?usage: run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
export LD_LIBRARY_PATH="$work/prefix/lib"
cc=${CC:-cc}
cflags=${CFLAGS:-}
# shellcheck disable=SC2046,SC2086 # flags are meant to split
$cc -std=c11 -Wall -Wextra -Werror $cflags "$here/consumer.c" $(pkg-config --cflags --libs peermesh) \
    -o "$work/shared"
"$work/shared"
static_flags=$(pkg-config --static --cflags --libs peermesh | sed 's/-lpeermesh/-l:libpeermesh.a/')
# shellcheck disable=SC2086
$cc -std=c11 $cflags "$here/consumer.c" $static_flags -o "$work/static"
"$work/static"
cmake -S "$here" -B "$work/cmake" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake" >/dev/null
"$work/cmake/consumer_cmake"
# An example a user copies, built against the installed package both ways (pkg-config,
# its own CMakeLists.txt), then run: the offer and answer carried through two pipes.
example="$here/../../examples/hello-pair"
# shellcheck disable=SC2046,SC2086 # flags are meant to split
$cc -std=c11 -Wall -Wextra -Werror $cflags "$example/hello_pair.c" $(pkg-config --cflags --libs peermesh) \
    -o "$work/hello-pair-pc"
cmake -S "$example" -B "$work/hello-pair" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/hello-pair" >/dev/null
mkfifo "$work/to_answer" "$work/to_offer"
timeout -k 2 40 "$work/hello-pair-pc" offer 127.0.0.1 >"$work/to_answer" <"$work/to_offer" \
    2>"$work/offer.log" &
offer=$!
timeout -k 2 40 "$work/hello-pair/hello-pair" answer 127.0.0.1 <"$work/to_answer" \
    >"$work/to_offer" 2>"$work/answer.log"
wait "$offer"
grep -q "received: hello from the answering side" "$work/offer.log"
grep -q "received: hello from the offering side" "$work/answer.log"
# The tools, found by their run path (no LD_LIBRARY_PATH), and the systemd unit naming them.
env -u LD_LIBRARY_PATH "$work/prefix/bin/peermesh" --version
env -u LD_LIBRARY_PATH "$work/prefix/bin/peermesh-signal" --version
unit="$work/prefix/lib/systemd/system/peermesh-signal.service"
exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
read -r program _ config <<<"$exec_start"
test -x "$program"
test -f "$config"
env -u LD_LIBRARY_PATH "$program" --config "$config" --port 0 --check-config
# The Godot 3.2 add-on folder: the library and its resource, self-contained
# (no run path, every dependency a system library).
addon="$work/prefix/share/peermesh/godot3/addons/peermesh"
test -f "$addon/peermesh.tres"
test -f "$addon/libpeermesh_godot3.so"
if readelf -d "$addon/libpeermesh_godot3.so" | grep -q 'RPATH\|RUNPATH'; then
  echo "install: the add-on library carries a run path" >&2
  exit 1
fi
if LD_LIBRARY_PATH="" ldd "$addon/libpeermesh_godot3.so" | grep -q 'not found\|peermesh'; then
  echo "install: the add-on library needs more than system libraries" >&2
  exit 1
fi
echo "install: pkg-config shared, pkg-config static and find_package(peermesh) all work;"
echo "install: examples/hello-pair builds both ways and connects; the tools and the systemd"
echo "install: unit are in bin/ and lib/systemd/system, the unit's paths exist"
echo "install: the Godot 3.2 add-on folder is in share/peermesh/godot3/addons/peermesh"
