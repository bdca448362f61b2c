#!/usr/bin/env bash
# tests/godot3/example_chat.sh BUILD_DIR — the example
# examples/godot3/webrtc-chat/ in its headless mode (two godot3-server peers
# chat through peermesh-signal), so that the documented command keeps
# working. Exit 77 (skipped) without godot3-server, 1 then under CI=true.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=common.sh
. "$HERE/common.sh"
pm_godot3_find
BUILD=$(cd "${1:?usage: example_chat.sh BUILD_DIR}" && pwd)
export BUILD
exec timeout -k 3 60 bash "$HERE/../../examples/godot3/webrtc-chat/run.sh" --headless
