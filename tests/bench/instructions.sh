#!/usr/bin/env bash
# xferd's instructions a Download call, counted by valgrind's callgrind: a figure the load of a
# shared machine does not move, for before/after comparisons of the creation path (ab.sh's
# create case measures the CPU time, which the load does move). Not part of `meson test`; needs
# valgrind.
#
#   tests/bench/instructions.sh [--calls N] [--bus] BUILDDIR...
#
# For each BUILDDIR (as ab.sh takes them): its xferd under callgrind on a private dbus-daemon,
# MaxBackgroundTransfers 1 with one job running against a listener on 127.0.0.1 that accepts
# and never answers (the others stay queued), 200 Download calls to warm up, the counts zeroed,
# N calls (default 3000) of `xferd-bench create --window 64`, the counts dumped: the
# instructions of xferd (every thread) between the two, a call, and the largest of its own
# functions, inclusive, a call. The calls are made by this tree's build/tests/bench/xferd-bench.
#
#   --bus   the same calls with dbus-daemon under callgrind instead (a bus of its own for each
#           BUILDDIR) and xferd as it is: the bus's instructions a call (the call, the reply
#           and the signals xferd sends for it), and those of its reading of the messages and
#           of their bodies' check, inclusive, a call
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$srcdir/scripts/common.sh"
calls=3000 builds=() count_bus=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --calls) need_number instructions.sh "$@"; calls=$2; shift 2 ;;
    --bus) count_bus=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "instructions.sh: unknown option '$1' (try --help)" >&2; exit 2 ;;
    *) builds+=("$(cd "$1" && pwd)"); shift ;;
  esac
done
[[ ${#builds[@]} -ge 1 ]] || { echo "instructions.sh: no build directory given (try --help)" >&2; exit 2; }
if ! command -v valgrind >/dev/null || ! command -v callgrind_control >/dev/null; then
  echo "instructions.sh: valgrind is not installed" >&2
  exit 1
fi

die() { printf 'instructions.sh: %s\n' "$*" >&2; exit 1; }
builddir=build
build_bench_tools || die "the build of $srcdir/build failed"

work=$(mktemp -d /tmp/xferd-instructions.XXXXXX)
bus_pid='' listener_pid='' xpid=''
cleanup() {
  local status=$?
  trap - EXIT
  set +e
  stop_pid "$xpid" 20
  stop_pid "$listener_pid" 5
  stop_pid "$bus_pid" 5
  rm -rf -- "$work"
  exit "$status"
}
trap_cleanup cleanup

session_bus_config "$work/bus.socket" "" '  <limit name="max_replies_per_connection">50000</limit>' >"$work/bus.conf"
# With --bus, a bus under callgrind for each build (below).
bus_counted() {
  exec valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" dbus-daemon --config-file="$1" --nofork \
    --print-address=3 --print-pid=4 3>&1 4>&1 >/dev/null 2>>"$work/bus.log"
}
if [[ $count_bus == 0 ]]; then
  start_bus "$work/bus.conf" || die "dbus-daemon did not start"
  export DBUS_SESSION_BUS_ADDRESS=$bus_address
fi
unset DBUS_SYSTEM_BUS_ADDRESS

# A listener that accepts every connection and never answers: the running job stays running.
python3 -c 'import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
held = []
while True: held.append(s.accept())' >"$work/port" &
listener_pid=$!
for ((i = 0; i < 100; i++)); do [[ -s $work/port ]] && break; sleep 0.1; done
port=$(cat "$work/port")
[[ -n $port ]] || die "the listener did not start"
url=http://127.0.0.1:$port/x

for b in "${builds[@]}"; do
  rm -rf "$work/state" "$work/dl" "$work"/callgrind.out*
  mkdir -p "$work/state" "$work/dl"
  if [[ $count_bus == 1 ]]; then
    read_bus bus_counted "$work/bus.conf" || die "dbus-daemon did not start under callgrind"
    export DBUS_SESSION_BUS_ADDRESS=$bus_address
    "$b/xferd" --user --idle-timeout=0 --state-dir="$work/state" 2>"$work/xferd.log" &
    xpid=$!
    counted=$bus_pid
  else
    valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" "$b/xferd" --user --idle-timeout=0 \
      --state-dir="$work/state" 2>"$work/xferd.log" &
    xpid=$!
    counted=$xpid
  fi
  for ((i = 0; i < 600; i++)); do "$bench" list >/dev/null 2>&1 && break; sleep 0.2; done
  "$bench" set-max 1 >/dev/null
  "$bench" create --count 200 --window 64 --url "$url" --dir "$work/dl" >/dev/null || die "$b: the warm-up failed"
  callgrind_control --zero "$counted" >/dev/null 2>&1
  "$bench" create --count "$calls" --window 64 --url "$url" --dir "$work/dl" >/dev/null || die "$b: the calls failed"
  callgrind_control --dump "$counted" >/dev/null 2>&1
  stop_pid "$xpid" 20
  xpid=
  if [[ $count_bus == 1 ]]; then
    stop_pid "$bus_pid" 20
    bus_pid=
  fi
  dumps=("$work"/callgrind.out.*)
  dump=${dumps[0]}
  callgrind_annotate --auto=no --inclusive=yes --threshold=100 "$dump" 2>/dev/null >"$work/annotated"
  total=$(awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1; exit }' "$work/annotated")
  if [[ $count_bus == 1 ]]; then
    echo "$b: dbus-daemon $(awk -v t="$total" -v n="$calls" 'BEGIN { printf "%.0f", t / n }') instructions a Download call ($calls calls)"
    grep -E ':(_dbus_message_loader_queue_messages|_dbus_validate_body_with_reason|dbus_message_set_sender|dbus_connection_dispatch) ' \
      "$work/annotated" | awk -v n="$calls" '{ c = $1; gsub(",", "", c); f = $(NF - 1); sub(/.*:/, "", f); printf "  %8.0f  %s\n", c / n, f }'
    continue
  fi
  echo "$b: $(awk -v t="$total" -v n="$calls" 'BEGIN { printf "%.0f", t / n }') instructions a Download call ($calls calls)"
  grep -F "[$b/xferd]" "$work/annotated" | grep -v -E ':(main|run) |below main' | head -n 12 |
    awk -v n="$calls" '{ c = $1; gsub(",", "", c); f = $(NF - 1); sub(/.*\//, "", f); printf "  %8.0f  %s\n", c / n, f }'
done
