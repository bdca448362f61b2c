# Sourced by the shell-driven tests: a scratch directory, and the processes
# the test started (only those, by PID) stopped when it exits.
#
#   pm_work NAME        make $WORK, reset PIDS, install the EXIT trap
#   PIDS+=("$!")        after starting a background process
#   pm_on_exit CMD      one more command for the EXIT trap (run first)
#   show FILE...        the last 40 lines of each log that exists

pm_work() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/peermesh-$1.XXXXXX")
  PIDS=()
  PM_ON_EXIT=""
  trap pm_cleanup EXIT
}

pm_on_exit() {
  PM_ON_EXIT="$1"
}

pm_cleanup() {
  [ -n "${PM_ON_EXIT:-}" ] && eval "$PM_ON_EXIT"
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
  done
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null
  done
  rm -rf "$WORK"
}

show() {
  for f in "$@"; do
    [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f"; }
  done
}
