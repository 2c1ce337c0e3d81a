# Sourced by the scripts that run processes of the project's (demo.sh, bench.sh):
# each process in its own process group with its output in $run_dir, a
# readiness wait on that output, and one cleanup that ends every group and
# removes $run_dir. Set `run_dir` and `pids=()` before using it.

cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run_dir"
}

# start NAME PATTERN COMMAND...: run COMMAND in its own process group with its
# output in $run_dir/NAME.log, and wait until that log matches PATTERN (an
# extended regex). Sets `started_pid`; if the process dies first, or has not
# said it is ready within START_TIMEOUT seconds (default 120), prints its log and fails. NB: not to be called in a $(…) subshell: it records the pid in
# `pids` for cleanup.
start() {
  local name="$1" pattern="$2" log="$run_dir/$1.log"
  shift 2
  : >"$log"
  setsid "$@" >"$log" 2>&1 &
  started_pid=$!
  pids+=("$started_pid")
  local deadline=$((SECONDS + ${START_TIMEOUT:-120}))
  until grep -qE "$pattern" "$log"; do
    if ! kill -0 "$started_pid" 2>/dev/null || ((SECONDS > deadline)); then
      echo "$name did not start (no line matching '$pattern' in its output):" >&2
      cat "$log" >&2
      return 1
    fi
    sleep 0.05
  done
}
