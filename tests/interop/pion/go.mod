// Only here so that the GOPATH-mode build (build-pion.sh) resolves the
// ".../v2" and ".../v3" import paths of Debian's pion sources (Go's minimal
// module compatibility); the build never downloads anything.
module peermesh/interop/pion-peer

go 1.19
