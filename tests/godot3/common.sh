# Sourced by the tests/godot3 runners: find headless Godot 3.2 and lay out a
# project with the add-on in a scratch directory.
#
#   pm_godot3_find            set GODOT (godot3-server, or $PEERMESH_GODOT3) or
#                             exit 77 with the reason (exit 1 under CI=true,
#                             where scripts/install-deps.sh interop installs it)
#   pm_godot3_project SRC ADDON DEST
#                             copy project SRC to DEST and the add-on folder
#                             ADDON (…/addons/peermesh) to DEST/addons/peermesh
#   pm_godot3_skip REASON     exit 77, or 1 under CI=true (pm_skip of
#                             tests/support/skip.sh, the rule every test shares)

# shellcheck source=../support/skip.sh
. "$(dirname "${BASH_SOURCE[0]}")/../support/skip.sh"

pm_godot3_skip() {
  pm_skip "$@"
}

pm_godot3_find() {
  if [ -n "${PEERMESH_GODOT3:-}" ]; then
    GODOT=$PEERMESH_GODOT3
  elif command -v godot3-server >/dev/null; then
    GODOT=$(command -v godot3-server)
  else
    pm_godot3_skip "godot3-server not installed (scripts/install-deps.sh interop)"
  fi
  command -v timeout >/dev/null || pm_godot3_skip "coreutils timeout missing"
}

pm_godot3_project() {
  local src=$1 addon=$2 dest=$3
  if [ ! -f "$addon/libpeermesh_godot3.so" ] || [ ! -f "$addon/peermesh.tres" ]; then
    echo "FAIL: $addon is not a built add-on folder (make build)"
    exit 1
  fi
  mkdir -p "$dest/addons"
  cp -r "$src/." "$dest/"
  cp -r "$addon" "$dest/addons/peermesh"
}
