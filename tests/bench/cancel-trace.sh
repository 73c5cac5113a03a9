#!/usr/bin/env bash
# Records one round of `ab.sh --case cancel` with perf and splits every Cancel into its hops
# (tests/bench/cancel-hops.py): client → dbus-daemon → xferd's loop → the unlink worker →
# the reply → dbus-daemon → client, each hop's wait for a CPU, and what held that CPU. As
# root (perf's tracepoints and uprobes), after scripts/setup-deps.sh; not part of `meson test`.
#
#   tests/bench/cancel-trace.sh [--background plain|sum|prefix] [--keep FILE] [--rows N] BUILDDIR
#
# BUILDDIR as for ab.sh (an xferd with its symbols: meson's default debugoptimized build).
# Uprobes named probe_xferd:xferd_c_* are put on BUILDDIR/xferd for the run and removed
# after it; two runs at once would share them, so one at a time. The recording of a round is
# a few hundred MB in TMPDIR; --keep FILE keeps its text (perf script) for another look.
# Tracing costs the traced tasks some microseconds per event: compare builds by the hops
# and the waits, and take the p99 from ab.sh without tracing.
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$srcdir/scripts/common.sh"
background= keep= rows=10 build=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --background) [[ $# -ge 2 && $2 =~ ^(plain|sum|prefix)$ ]] || { echo "cancel-trace.sh: --background takes plain, sum or prefix" >&2; exit 2; }
                  background=$2; shift 2 ;;
    --keep) [[ $# -ge 2 ]] || { echo "cancel-trace.sh: --keep takes a file" >&2; exit 2; }
            keep=$2; shift 2 ;;
    --rows) [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || { echo "cancel-trace.sh: --rows takes a number" >&2; exit 2; }
            rows=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "cancel-trace.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    *) [[ -z $build ]] || { echo "cancel-trace.sh: one build directory" >&2; exit 2; }
       build=$(cd "$1" && pwd); shift ;;
  esac
done
[[ -n $build && -x $build/xferd ]] || { echo "cancel-trace.sh: no build directory with an xferd given (try --help)" >&2; exit 2; }
command -v perf >/dev/null || { echo "cancel-trace.sh: perf is not installed" >&2; exit 1; }

functions=(bus_job_method_cancel 'job_cancel%return' batch_unlink 'batch_run%return' on_job_unlinked
           pending_reply_done on_curl_io 'on_curl_io%return' wal_checkpoint_run 'wal_checkpoint_run%return')
work=
cleanup() {
  local status=$?
  trap - EXIT
  perf probe -q -d 'probe_xferd:xferd_c_*' 2>/dev/null || true
  [[ -n $work ]] && rm -rf -- "$work"
  exit "$status"
}
if perf probe -l 2>/dev/null | grep -q 'probe_xferd:xferd_c_'; then
  echo "cancel-trace.sh: the probes probe_xferd:xferd_c_* exist already (another run?)" >&2
  exit 1
fi
trap_cleanup cleanup
probes=()
for f in "${functions[@]}"; do
  probes+=(-a "xferd_c_${f%\%return}=$f")  # perf names a return probe NAME__return
done
perf probe -q -x "$build/xferd" "${probes[@]}"

work=$(mktemp -d "${TMPDIR:-/var/tmp}/xferd-cancel-trace.XXXXXX")
filter='comm == "dbus-daemon" || comm == "xferd-bench"'
perf record -q -a -o "$work/perf.data" -m 16M \
  -e sched:sched_switch -e sched:sched_wakeup \
  -e raw_syscalls:sys_enter --filter "$filter" -e raw_syscalls:sys_exit --filter "$filter" \
  -e syscalls:sys_enter_sendmsg --filter 'comm == "xferd"' -e syscalls:sys_enter_sendto --filter 'comm == "xferd"' \
  -e 'probe_xferd:xferd_c_*' -e cpu-clock/freq=4000/ \
  -- "$srcdir/tests/bench/ab.sh" --case cancel ${background:+--background "$background"} --rounds 1 "$build" >&2
perf script -i "$work/perf.data" -F comm,pid,tid,cpu,time,event,trace >"$work/trace.txt" 2>/dev/null
rm -f "$work/perf.data"
[[ -z $keep ]] || cp "$work/trace.txt" "$keep"
python3 "$srcdir/tests/bench/cancel-hops.py" --rows "$rows" "$work/trace.txt"
