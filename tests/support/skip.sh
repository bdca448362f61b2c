# Sourced by the shell-driven tests: when something a test needs is missing.
#
#   pm_ci               true when running under CI (CI=true, as .ci/run sets it)
#   pm_skip REASON...   by hand: print "SKIP: REASON" and exit 77 (CTest's
#                       SKIP_RETURN_CODE); under CI: print "FAIL: REASON" and
#                       exit 1, since scripts/install-deps.sh installs
#                       everything a test needs there and a skip would hide it.
#
# The C tests have the same rule in tests/support/testutil.h (pm_test_skip).

pm_ci() {
  case "${CI:-}" in
    true | TRUE | True | 1 | yes) return 0 ;;
  esac
  return 1
}

pm_skip() {
  if pm_ci; then
    echo "FAIL: $* (CI=true: a missing tool or peer is a failure there; scripts/install-deps.sh installs them)"
    exit 1
  fi
  echo "SKIP: $*"
  exit 77
}
