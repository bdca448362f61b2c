#!/bin/sh
# build-pion.sh: build the pion reference peer (tests/interop/pion/main.go)
# fully offline against Debian's Go sources in /usr/share/gocode
# (golang-github-pion-webrtc.v3-dev), in GOPATH mode.
#
#   tests/interop/build-pion.sh [OUTPUT]      (default: build/interop/pion-peer)
#
# OUTPUT is the binary to write; a relative path is taken from the repository
# root. Needs golang-go and golang-github-pion-webrtc.v3-dev
# (scripts/install-deps.sh interop).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
out=${1:-build/interop/pion-peer}
case "$out" in /*) ;; *) out="$root/$out" ;; esac

command -v go >/dev/null 2>&1 || { echo "build-pion: go not found (install golang-go)" >&2; exit 1; }
[ -d /usr/share/gocode/src/github.com/pion/webrtc ] ||
  { echo "build-pion: /usr/share/gocode has no pion/webrtc (install golang-github-pion-webrtc.v3-dev)" >&2; exit 1; }

# A throw-away GOPATH entry holding only our package; everything it imports
# comes from /usr/share/gocode. pion/go.mod exists only so that GOPATH mode
# maps the ".../v3" and ".../v2" import paths onto those directories.
gopath=$(mktemp -d "${TMPDIR:-/tmp}/pion-peer-gopath.XXXXXX")
trap 'rm -rf "$gopath"' EXIT
mkdir -p "$gopath/src" "$(dirname "$out")"
ln -s "$here/pion" "$gopath/src/pion-peer"

cd "$gopath/src/pion-peer"
GO111MODULE=off GOFLAGS='' GOPROXY=off GOPATH="/usr/share/gocode:$gopath" \
  go build -o "$out" pion-peer
echo "build-pion: built $out"
