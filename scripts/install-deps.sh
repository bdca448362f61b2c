#!/bin/sh
# install-deps.sh: install the Debian 12 packages peermesh needs, only those
# that are missing.
#
#   scripts/install-deps.sh [build] [test] [interop] [wasm] [docs] [bench-report]
#                                                  (default: build)
#
#   build    compilers, CMake/Ninja, clang tools and the C libraries we link
#            (hiredis: the signaling cluster's Redis client)
#   test     what the integration tests of `make test` run besides our own
#            programs: redis-server (the signaling cluster's tests start their
#            own on loopback)
#   interop  the reference WebRTC stacks used by tests/interop/ (pion, aiortc,
#            headless Chromium) and the tools the pairing driver needs; Godot
#            3.2.3 (godot3-server headless, godot3 under xvfb-run) for the ENet
#            wire-compatibility tests in tests/godot/, and the openssl tool that
#            makes their wss:// test certificate; Firefox ESR for the browser
#            tests of the web demo (tests/web); coturn, iptables and conntrack
#            for the NAT tests in tests/nat/ (network namespaces)
#   wasm     the WebAssembly build (`make wasm`): Debian's emscripten (with its
#            clang, lld, binaryen and the node modules it runs) and Node.js
#   docs     Graphviz, for `make docs` (docs/figures/*.dot -> .svg; the SVGs are
#            committed, so nothing else needs it)
#   bench-report  gnuplot, for `make bench-report` (the plots of docs/performance.md)
#
# Runs as root, or through sudo otherwise. Idempotent: packages are checked
# with dpkg-query first and apt-get (update + install) runs only when at least
# one is missing. Prints one line: what it installed, or "all present".
set -eu

BUILD_PKGS="build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev clang-format
  libssl-dev libusrsctp-dev libcmocka-dev libjansson-dev libwebsockets-dev libev-dev libenet-dev
  libhiredis-dev"
TEST_PKGS="redis-server"
INTEROP_PKGS="golang-go golang-github-pion-webrtc.v3-dev python3 python3-aiortc chromium nodejs
  iproute2 util-linux godot3 godot3-server xvfb xauth openssl firefox-esr coturn iptables conntrack"
WASM_PKGS="emscripten node-acorn binaryen nodejs cmake ninja-build"
DOCS_PKGS="graphviz"
BENCH_REPORT_PKGS="gnuplot-nox"

usage() {
  echo "usage: $0 [build] [test] [interop] [wasm] [docs] [bench-report]" >&2
  exit 64
}

[ $# -gt 0 ] || set -- build
wanted=""
for group in "$@"; do
  case "$group" in
    build) wanted="$wanted $BUILD_PKGS" ;;
    test) wanted="$wanted $TEST_PKGS" ;;
    interop) wanted="$wanted $INTEROP_PKGS" ;;
    docs) wanted="$wanted $DOCS_PKGS" ;;
    bench-report) wanted="$wanted $BENCH_REPORT_PKGS" ;;
    wasm) wanted="$wanted $WASM_PKGS" ;;
    -h | --help) usage ;;
    *) echo "install-deps: unknown group '$group'" >&2; usage ;;
  esac
done

is_installed() {
  dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null | grep -qx installed
}

missing=""
for pkg in $wanted; do
  case " $missing " in *" $pkg "*) continue ;; esac
  is_installed "$pkg" || missing="$missing $pkg"
done

if [ -z "$missing" ]; then
  echo "install-deps: all present"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=""
elif command -v sudo >/dev/null 2>&1; then
  as_root="sudo"
else
  echo "install-deps: need root or sudo to install:$missing" >&2
  exit 1
fi

log=$(mktemp "${TMPDIR:-/tmp}/install-deps.XXXXXX")
trap 'rm -f "$log"' EXIT
# shellcheck disable=SC2086 # word splitting of the package list is intended
if ! $as_root env DEBIAN_FRONTEND=noninteractive apt-get -qq update >"$log" 2>&1 ||
  ! $as_root env DEBIAN_FRONTEND=noninteractive apt-get -qq -y --no-install-recommends \
    install $missing >>"$log" 2>&1; then
  tail -n 30 "$log" >&2
  echo "install-deps: FAILED to install:$missing" >&2
  exit 1
fi

# Double-check: apt-get can succeed without installing a package it skipped.
still=""
for pkg in $missing; do
  is_installed "$pkg" || still="$still $pkg"
done
if [ -n "$still" ]; then
  echo "install-deps: still missing after apt-get:$still" >&2
  exit 1
fi
echo "install-deps: installed$missing"
