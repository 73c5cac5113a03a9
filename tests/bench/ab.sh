#!/usr/bin/env bash
# Compares builds of xferd on one case of tests/bench/run.sh, interleaved in the same run
# (A B, then B A, ...), so that the load of a shared machine falls on every build alike; for
# bisecting a change of speed and for before/after figures. Not part of `meson test`. As root
# (the job limits exempt root), after scripts/setup-deps.sh:
#
#   tests/bench/ab.sh [--case big|cancel|restart|create|small|lanes|floor] [--rounds N] [--mib N] [--checksum|--both]
#                     [--limit MIBPS] [--cpus-nginx LIST] [--cpus-xferd LIST]
#                     [--background plain|sum|prefix] [--floor echo|ping | --cold] [--jobs N] [--window W] [--gone] [--bus daemon|broker] BUILDDIR...
#
#   --case big      one file of --mib MiB (default 1024): `xferctl download` (with
#                   --checksum=sha256:… when --checksum is given; --both: each build without and
#                   with it in every round, and the ratio of the two), and beside it the disk's floor:
#                   `dd conv=fdatasync` of the same bytes from the page cache to the same
#                   directory; wall and the daemon's CPU, its event-loop thread's apart, and
#                   each busy thread's run and wait for a CPU (ms, from schedstat; "+10" marks
#                   the pools 10 nice levels below the loop: the writers and the hashing), and
#                   nginx's CPU
#   --case cancel   Cancel call → reply with 100 transfers running (/slow/, 128 KiB/s each),
#                   1000 cancels (as run.sh's row); with --background: 200 cancels, 20 running while the --mib file downloads
#                   over and over without (plain) or with (sum) a checksum, or with one from a
#                   resume at its half (prefix: suspended once the file holds half, then resumed,
#                   the half held hashed from byte 0 while the rest arrives, as run.sh's row);
#                   with --floor echo|ping, a floor beside it: before every other Cancel the
#                   same client makes a call that does no work, timed apart (its own
#                   p50/p90/p99, and the Cancels' p99 with and without that call before them;
#                   $XFERD_BENCH_FLOOR_LATENCIES as $XFERD_BENCH_LATENCIES: every call's ms
#                   appended to that file, its n-th line beside the 2n-th Cancel of the run):
#                   echo, to a service that answers at once (xferd-bench echo-serve, no signal:
#                   the bus and the CPUs); ping, a Peer.Ping to xferd (the same, and xferd's
#                   loop as it is: sd-bus answers it past xferd's bus filters, without a method
#                   handler of xferd's)
#                   with --cold, every other Cancel comes 3 ms after the client's last call
#                   (a client idle meanwhile; the bus and xferd's idle threads asleep), the rest
#                   at once as always (the bench's own Properties.Get just before), their p50
#                   and p99 apart; the medians at the end are then the warm half's p99
#   --case floor    the floor beside a GiB: 200 calls (each followed by 3 ms) to a service that
#                   answers at once (xferd-bench echo-serve) while the --mib file is downloaded
#                   from the same nginx over and over by curl (--background plain, the default:
#                   `curl -o`; sum: `curl | tee FILE | sha256sum`, hashed as written; tee 10 nice
#                   levels down and sha256sum in SCHED_IDLE, as xferd's writers and hashing), by
#                   aria2c (one connection, no preallocation; under sum with its --checksum,
#                   which reads the file back at the end),
#                   copied by `dd conv=fdatasync` from the page cache (the disk's part alone, 10
#                   nice levels down), and by each build's xferd as the Cancel case's background
#                   (checked under sum; never completed, so no final sync; started again when
#                   done), the order turning every round; nothing else runs: no Cancel loop, no
#                   other transfer; the bus's CPU over the calls; $XFERD_BENCH_FLOOR_LATENCIES as
#                   for --floor, with .curl, .aria2c, .dd and .xferd-N (the N-th build) after the name;
#                   beside each, over the calls (xferd-bench measures them): the MiB/s the
#                   loopback device received (the download's pace), nginx's CPU, and the host's
#                   TCP segments sent again, received out of order and reported received twice
#                   (host-wide counters; on loopback much of the receiver's TCP work runs in
#                   the sender's calls, here nginx's)
#   --case restart  --jobs N (default 100000) queued jobs (one Download each, MaxBackgroundTransfers
#                   1, a slow URL) stored once by the first build; every start gets a fresh copy of
#                   that store: activation → first ListJobs reply (wall, the daemon's CPU, its
#                   event-loop thread's, and page faults by then), then 5 ListJobs and 5 ListJobsCompact (a build without it:
#                   none) (wall, and the CPU per call of the daemon, of the bus and of the
#                   client, which reads every row after the wall: how long that took too), and
#                   VmRSS
#   --case create   --jobs N Download calls (--window W in flight, default 64; MaxBackgroundTransfers 1,
#                   a slow URL; with W 1 every batch holds one call, so builds compare by the work
#                   of a call and its batch, whichever of them is faster: with more in flight a
#                   faster xferd closes smaller batches, and a call costs more)
#                   into a fresh xferd: jobs a second, and the CPU per job of the daemon (and of its
#                   event-loop thread), of
#                   the bus (which routes the call, the reply and the signals) and of the client;
#                   then the same calls to a trivial service (xferd-bench echo-serve) that answers at
#                   once after 0 or 3 signals of JobNew's shape, or after the contract's two signals
#                   of a new job as xferd sends them ("contract": InterfacesAdded, JobNew): the bus's own cost a call,
#                   without xferd's work
#   --case small    --jobs N (default 1000 here) files of 16 KiB as N Download calls (16 at a time,
#                   64 calls in flight) and as one job with MaxConcurrentFiles 16, beside
#                   `curl -Z --parallel-max 16` of the same files once a round; wall, the daemon's
#                   CPU (for the N jobs also the time its event-loop thread ran, from schedstat)
#                   and the ratios to that round's curl
#   --case lanes    the --mib file (default 1024) as 16 files, one job with MaxConcurrentFiles 16
#                   and each file's sha256 checksum (AddFileWithOptions): wall to Complete, the
#                   daemon's CPU, and its peak RSS (VmHWM: the buffers of 16 hashed files at once)
#   --gone          (restart) the jobs' download directory removed after the store is made: every
#                   start fails at once, and the ListJobs calls meanwhile show whether the
#                   scheduler's passes let them through (their slowest wall is printed)
#   --rounds N      rounds (default 3); every round runs every build once, the order rotating
#   --limit MIBPS   (floor, and cancel with --background) the background download held to MIBPS
#                   MiB/s, each tool by its own limiter: xferd's by the job's BandwidthLimit (a
#                   quarter second of the rate may go at once), in the floor case curl's by
#                   --limit-rate and aria2c's by --max-download-limit (dd is not held); check
#                   the MiB/s printed: aria2c's limiter did not hold at 300-500 MiB/s here
#   --cpus-nginx LIST, --cpus-xferd LIST
#                   nginx, and every xferd the bench starts, run on these CPUs only (taskset's
#                   list, e.g. 1 or 0-1): where the server's loopback work lands beside the
#                   calls (an experiment on the setting, not a setting of xferd's); curl,
#                   aria2c, dd, the bus, the echo service and the client are not pinned
#   --bus broker    the private session bus is dbus-broker (Debian's package, run by
#                   tests/bench's xferd-bench-broker) instead of dbus-daemon (--bus daemon, the
#                   default); "the bus" in the lines is the one chosen
#
# A BUILDDIR is a meson build directory holding xferd and client/xferctl (an old commit:
# `git worktree add /tmp/old COMMIT`, then `meson setup -Dtests=false /tmp/old/build` and
# `meson compile -C /tmp/old/build xferd xferctl`). The calls are made by this tree's
# build/tests/bench/xferd-bench. One line per build and round on stdout, the medians last.
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$srcdir/scripts/common.sh"
case=big rounds=3 mib=1024 checksum=0 both=0 gone=0 background= floor= cold=0 jobs= window=64 bus_kind=daemon builds=()
cpus_nginx= cpus_xferd= limit=
while [[ $# -gt 0 ]]; do
  case "$1" in
    --case) [[ $# -ge 2 && $2 =~ ^(big|cancel|restart|create|small|lanes|floor)$ ]] || { echo "ab.sh: --case takes big, cancel, restart, create, small, lanes or floor" >&2; exit 2; }
            case=$2; shift 2 ;;
    --rounds) need_number ab.sh "$@"; rounds=$2; shift 2 ;;
    --mib) need_number ab.sh "$@"; mib=$2; shift 2 ;;
    --checksum) checksum=1; shift ;;
    --both) both=1; shift ;;
    --cold) cold=1; shift ;;
    --floor) [[ $# -ge 2 && $2 =~ ^(echo|ping)$ ]] || { echo "ab.sh: --floor takes echo or ping" >&2; exit 2; }
             floor=$2; shift 2 ;;
    --gone) gone=1; shift ;;
    --limit) need_number ab.sh "$@"; limit=$2; shift 2 ;;
    --cpus-nginx|--cpus-xferd)
      [[ $# -ge 2 ]] && taskset -c "$2" true 2>/dev/null ||
        { echo "ab.sh: $1 takes a list of online CPUs such as 1 or 0-1 (taskset's)" >&2; exit 2; }
      if [[ $1 == --cpus-nginx ]]; then cpus_nginx=$2; else cpus_xferd=$2; fi
      shift 2 ;;
    --jobs) need_number ab.sh "$@"; jobs=$2; shift 2 ;;
    --window) need_number ab.sh "$@"; window=$2; shift 2 ;;
    --bus) [[ $# -ge 2 && $2 =~ ^(daemon|broker)$ ]] || { echo "ab.sh: --bus takes daemon or broker" >&2; exit 2; }
           bus_kind=$2; shift 2 ;;
    --background) [[ $# -ge 2 && $2 =~ ^(plain|sum|prefix)$ ]] || { echo "ab.sh: --background takes plain, sum or prefix" >&2; exit 2; }
                  background=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "ab.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    *) [[ -x $1/xferd && -x $1/client/xferctl ]] || { echo "ab.sh: $1 holds no xferd and client/xferctl" >&2; exit 2; }
       builds+=("$(cd "$1" && pwd)"); shift ;;
  esac
done
[[ ${#builds[@]} -ge 1 ]] || { echo "ab.sh: no build directory given (try --help)" >&2; exit 2; }
[[ -n $jobs ]] || { jobs=100000; [[ $case == small ]] && jobs=1000; }
[[ $case != floor || $background != prefix ]] || { echo "ab.sh: --case floor takes --background plain or sum" >&2; exit 2; }
[[ -z $floor || $case == cancel ]] || { echo "ab.sh: --floor is for --case cancel" >&2; exit 2; }
[[ $cold == 0 || ( $case == cancel && -z $floor ) ]] || { echo "ab.sh: --cold is for --case cancel, without --floor" >&2; exit 2; }
[[ $case != floor ]] || command -v aria2c >/dev/null || { echo "ab.sh: --case floor runs aria2c too: install aria2 (scripts/setup-deps.sh)" >&2; exit 2; }
[[ -z $limit || $case == floor || ( $case == cancel && -n $background ) ]] ||
  { echo "ab.sh: --limit is for the background download of --case cancel or floor" >&2; exit 2; }

log() { printf '[ab %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'ab.sh: %s\n' "$*" >&2; exit 1; }
builddir=build
build_bench_tools || die "the build of $srcdir/build failed"

work=
bus_pid=
nginx_pid=
xferd_stop() {
  [[ -n "$work" && -s "$work/xferd.pid" ]] || return 0
  stop_pid "$(cat "$work/xferd.pid")" 10
  rm -f "$work/xferd.pid"
}
floor_lpid=
# floor_loop CMD...: CMD run over and over in the background (floor_lpid), each time into a new
# file: writing over the last GiB would first truncate it, and xferd's GiB goes to a new file.
# The loop ends by itself once the directory is gone (the script died) or when told to.
floor_loop() {
  (while [[ -d $work/dl && ! -e $work/floor-stop ]]; do
     rm -f "$work/dl/big" "$work/dl/big.aria2"
     "$@" || sleep 0.1
   done) 2>/dev/null &
  floor_lpid=$!
}
# curl_tee_sum: the GiB hashed as it comes, by programs as xferd's threads are (tee 10 nice
# levels down as its writers, sha256sum in SCHED_IDLE as its hashing).
curl_tee_sum() {
  curl -sf ${limit:+--limit-rate "${limit}M"} "$base/big" | nice -n 10 tee "$work/dl/big" | chrt -i 0 sha256sum >/dev/null
}
floor_loop_stop() {  # the background loop of the floor case and what it runs
  [[ -n $floor_lpid ]] || return 0
  [[ -z $work ]] || touch "$work/floor-stop" 2>/dev/null || true
  # Its children first, and until they are gone: aria2c takes SIGTERM as a request to save its
  # state (big.aria2), which it may still be writing when the next tool's directory is made.
  # The loop is stopped while its children are listed, so that it starts no other.
  local kids p
  kill -STOP "$floor_lpid" 2>/dev/null || true
  kids=$(pgrep -P "$floor_lpid" || true)
  kill -TERM "$floor_lpid" 2>/dev/null || true
  kill -CONT "$floor_lpid" 2>/dev/null || true
  for p in $kids; do stop_pid "$p" 2; done
  wait "$floor_lpid" 2>/dev/null || true
  floor_lpid=
}
cleanup() {
  local status=$?
  trap - EXIT
  set +e
  floor_loop_stop
  xferd_stop
  stop_pid "$bus_pid" 5
  stop_pid "$nginx_pid" 5
  [[ -n "$work" ]] && rm -rf -- "$work"
  exit "$status"
}
trap_cleanup cleanup
work=$(mktemp -d "${TMPDIR:-/var/tmp}/xferd-ab.XXXXXX")
chmod 0755 "$work"     # nginx workers run as nobody
mkdir -p "$work/www" "$work/services"
[[ $case == restart || $case == create || $case == small ]] && mib=1
head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/www/big"
if [[ $case == small ]]; then
  mkdir "$work/www/small"
  (cd "$work/www/small" && head -c "$((jobs * 16384))" /dev/urandom | split -b 16384 -d -a 4 - f)
fi
big_sum=sha256:$(sha256sum "$work/www/big" | cut -d' ' -f1)
if [[ $case == lanes ]]; then
  mkdir "$work/www/lanes"
  (cd "$work/www/lanes" && split -n 16 -d -a 2 ../big f && sha256sum f?? >../lanes.sums)
fi

port=$("$bench" free-port)
echo ok >"$work/www/ok"
XFERD_BENCH_NGINX_CPUS=$cpus_nginx bench_nginx "$work" "$port" ok || die "nginx does not answer on 127.0.0.1:$port"

# Activation runs the build named in bin-current with the state directory in state-current.
cat >"$work/xferd-launch" <<EOF
#!/bin/sh
echo \$\$ >"$work/xferd.pid"
exec ${cpus_xferd:+taskset -c $cpus_xferd} "\$(cat "$work/bin-current")" --user --idle-timeout=0 --state-dir="\$(cat "$work/state-current")" 2>>"$work/xferd.log"
EOF
chmod 0755 "$work/xferd-launch"
printf '[D-BUS Service]\nName=org.xferd.Transfer1\nExec=%s\n' "$work/xferd-launch" \
  >"$work/services/org.xferd.Transfer1.service"
# A ListJobs reply of 100 000 jobs is about 17 MB, and the restart case pipelines its calls.
session_bus_config "$work/bus.socket" "$work/services" '  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
  <limit name="service_start_timeout">120000</limit>
  <limit name="max_replies_per_connection">50000</limit>' >"$work/bus.conf"
bus_name=dbus-$bus_kind
if [[ $bus_kind == daemon ]]; then start_bus "$work/bus.conf"; else start_broker "$work/bus.socket" "$work/services" "$bench_broker"; fi ||
  die "$bus_name did not start"
export DBUS_SESSION_BUS_ADDRESS=$bus_address
unset DBUS_SYSTEM_BUS_ADDRESS

kv() { sed -n "s/^$1=//p" <<<"$2" | head -n1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan";
  else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
clk_tck=$(getconf CLK_TCK)
# ticks PID: the CPU ticks of the event-loop thread and of the whole process.
ticks() { echo "$(awk '{ print $14 + $15 }' "/proc/$1/task/$1/stat") $(awk '{ print $14 + $15 }' "/proc/$1/stat")"; }
# nginx_ticks: the CPU ticks of nginx's master and workers.
nginx_ticks() {
  local p t=0
  for p in "$nginx_pid" $(pgrep -P "$nginx_pid"); do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat" 2>/dev/null || echo 0))); done
  echo "$t"
}
# waited PID: nanoseconds the event-loop thread has spent runnable but waiting for a CPU.
waited() { awk '{ print $2 }' "/proc/$1/task/$1/schedstat"; }
# loop_run_ns PID: the ns the event-loop thread ran (schedstat).
loop_run_ns() { awk '{ print $1 }' "/proc/$1/task/$1/schedstat"; }

# threads PID: one line per thread: tid, nice, ns run, ns waited for a CPU.
threads() {
  local f
  for f in /proc/"$1"/task/*; do
    [[ -r $f/schedstat ]] || continue
    echo "${f##*/} $(awk '{ print $19 }' "$f/stat" 2>/dev/null) $(cat "$f/schedstat" 2>/dev/null)"
  done
}
# busy_threads BEFORE AFTER: the threads that ran over 10 ms between the two snapshots.
busy_threads() {
  awk -v base="$(awk '{ print $2 }' <<<"$2" | sort -n | head -n1)" 'NR == FNR { run[$1] = $3; wait[$1] = $4; next }
    { r = ($3 - run[$1]) / 1e6; w = ($4 - wait[$1]) / 1e6
      if (r > 10) printf "%s%s run %.0f wait %.0f", sep, ($2 > base ? "+" ($2 - base) : "loop-level"), r, w; if (r > 10) sep = "; " }' \
    <(echo "$1") <(echo "$2")
}

xpid=
xferd_fresh() {  # BUILD: a new xferd of BUILD on an empty state directory
  xferd_stop
  rm -rf "$work/state"
  echo "$work/state" >"$work/state-current"
  echo "$1/xferd" >"$work/bin-current"
  "$bench" list >/dev/null || { tail -n 20 "$work/xferd.log" >&2; die "xferd of $1 did not start"; }
  xpid=$(cat "$work/xferd.pid")
}
fresh_dl() { rm -rf "$work/dl"; mkdir "$work/dl"; sync; }

declare -A res res_both_ratio
last_wall=
run_big() {  # BUILD → one line; res[BUILD] (with " sum" when hashed under --both) += wall
  local b=$1 out extra=() lt0 pt0 lt1 pt1 w0 w1 th0 th1 n0 n1 key=$1
  xferd_fresh "$b"
  fresh_dl
  [[ $checksum -eq 1 ]] && extra=(--checksum="$big_sum")
  [[ $both -eq 1 && $checksum -eq 1 ]] && key="$b sum"
  n0=$(nginx_ticks)
  read -r lt0 pt0 < <(ticks "$xpid")
  w0=$(waited "$xpid")
  th0=$(threads "$xpid")
  out=$("$bench" run --pid "$xpid" -- "$b/client/xferctl" --user --no-progress "${extra[@]}" \
          download "$base/big" "$work/dl/big")
  read -r lt1 pt1 < <(ticks "$xpid")
  w1=$(waited "$xpid")
  th1=$(threads "$xpid")
  n1=$(nginx_ticks)
  [[ $(kv status "$out") == 0 ]] || die "$b: the download failed"
  cmp -s "$work/www/big" "$work/dl/big" || die "$b: the downloaded file differs"
  res[$key]+="$(kv wall "$out") "
  last_wall=$(kv wall "$out")
  echo "$b$([[ ${#extra[@]} -gt 0 ]] && echo " (checksum)"): wall $(kv wall "$out") s, daemon CPU $(calc "$(kv duser "$out") + $(kv dsys "$out")") s" \
       "(loop $(calc "($lt1 - $lt0) / $clk_tck") s, other threads $(calc "($pt1 - $pt0 - $lt1 + $lt0) / $clk_tck") s);" \
       "the loop waited for a CPU $(calc "($w1 - $w0) / 1000000" 0) ms; nginx CPU $(calc "($n1 - $n0) / $clk_tck") s"
  echo "  $b threads (ms): $(busy_threads "$th0" "$th1")"
}
run_floor() {  # the disk's floor: the same bytes from the page cache, synced
  local out
  fresh_dl
  out=$("$bench" run -- dd if="$work/www/big" of="$work/dl/big" bs=1M conv=fdatasync status=none)
  res[dd]+="$(kv wall "$out") "
  echo "dd conv=fdatasync: wall $(kv wall "$out") s"
}
run_cancel() {  # BUILD → one line; res[BUILD] += p99
  local b=$1 out args=(--count 100 --samples 1000) w0 w1
  xferd_fresh "$b"
  fresh_dl
  if [[ -n $background ]]; then
    args=(--count 20 --samples 200 --background "$base/big" --checksum "$([[ $background == plain ]] && echo none || echo "$big_sum")")
    [[ $background == prefix ]] && args+=(--resume-at "$((mib * 1024 * 1024 / 2))")
    [[ -z $limit ]] || args+=(--background-limit "$((limit * 1024 * 1024))")
  fi
  if [[ $floor == echo ]]; then
    echo_start
    args+=(--service org.xferd.BenchEcho)
  fi
  [[ $floor == ping ]] && args+=(--service org.xferd.Transfer1)
  [[ $cold == 0 ]] || args+=(--cold-us 3000)
  w0=$(waited "$xpid")
  out=$("$bench" cancel "${args[@]}" --url "$base/slow/big" --dir "$work/dl") ||
    die "$b: the Cancel case failed: $out"
  w1=$(waited "$xpid")
  echo_stop
  [[ -z $floor ]] ||
    echo "$b: the floor beside it, before every other Cancel ($([[ $floor == echo ]] && echo "a call to a service that answers at once" || echo "xferd's Peer.Ping")):" \
         "p50 $(kv floor_p50_ms "$out") ms, p90 $(kv floor_p90_ms "$out") ms, p99 $(kv floor_p99_ms "$out") ms, max $(kv floor_max_ms "$out") ms;" \
         "Cancel p99 with it before $(kv floored_p99_ms "$out") ms, without $(kv bare_p99_ms "$out") ms"
  [[ $cold == 0 ]] ||
    echo "$b: Cancel sent 3 ms after the client's last call p50 $(kv cold_p50_ms "$out") ms, p99 $(kv cold_p99_ms "$out") ms;" \
         "sent at once p50 $(kv warm_p50_ms "$out") ms, p99 $(kv warm_p99_ms "$out") ms"
  if [[ $cold == 0 ]]; then res[$b]+="$(kv p99_ms "$out") "; else res[$b]+="$(kv warm_p99_ms "$out") "; fi
  echo "$b: Cancel p50 $(kv p50_ms "$out") ms, p90 $(kv p90_ms "$out") ms, p99 $(kv p99_ms "$out") ms," \
       "max $(kv max_ms "$out") ms, left $(kv leftovers "$out")$([[ -n $background ]] && echo ", background restarts $(kv background_restarts "$out")");" \
       "the loop waited for a CPU $(calc "($w1 - $w0) / 1000000" 0) ms"
}

# floor_beside TOOL TAG: one line; the echo floor while TOOL (curl, dd, or a build's xferd)
# downloads the big file over and over, hashed as it comes with --background sum; the calls'
# times go to $XFERD_BENCH_FLOOR_LATENCIES.TAG when that is set.
floor_beside() {
  local tool=$1 out bg_opt=() label
  fresh_dl
  echo_start
  rm -f "$work/floor-stop"
  if [[ $tool == curl && $background == sum ]]; then
    label="curl | tee | sha256sum"
    floor_loop curl_tee_sum
  elif [[ $tool == curl ]]; then
    label="curl -o"
    floor_loop curl -sf ${limit:+--limit-rate "${limit}M"} -o "$work/dl/big" "$base/big"
  elif [[ $tool == aria2c ]]; then
    # One connection and no preallocation: written as it comes, as curl and xferd do. Under
    # sum aria2c checks the digest its own way, by reading the file back at the end.
    label="aria2c -x1 -s1 --file-allocation=none"
    local sum_opt=()
    if [[ $background == sum ]]; then
      label+=" --checksum (read back at the end)"
      sum_opt=(--checksum="sha-256=${big_sum#sha256:}")
    fi
    floor_loop aria2c -q -x1 -s1 --file-allocation=none --allow-overwrite=true --auto-file-renaming=false \
      ${limit:+--max-download-limit="${limit}M"} "${sum_opt[@]}" -d "$work/dl" -o big "$base/big"
  elif [[ $tool == dd ]]; then
    label="dd conv=fdatasync (the disk's part alone, from the page cache, no hash)"
    floor_loop nice -n 10 dd if="$work/www/big" of="$work/dl/big" bs=1M conv=fdatasync status=none
  else
    # xferd downloads it as in the Cancel case (never completed: no final sync; restarted when
    # done), without the Cancels and the other transfers.
    xferd_fresh "$tool"
    label="xferd of $tool, $([[ $background == sum ]] && echo "checked" || echo "unchecked") (as the Cancel case's background)"
    bg_opt=(--background "$base/big" --dir "$work/dl" --checksum "$([[ $background == sum ]] && echo "$big_sum" || echo none)")
    [[ -z $limit ]] || bg_opt+=(--background-limit "$((limit * 1024 * 1024))")
  fi
  if [[ -n $floor_lpid ]]; then  # under way: the file is growing (xferd-bench waits for its own)
    for ((i = 0; i < 300; i++)); do [[ -n $(find "$work/dl" -type f -size +1M 2>/dev/null | head -n1) ]] && break; sleep 0.01; done
    ((i < 300)) || die "$label did not start downloading"
  fi
  # nginx serves with one worker (bench_nginx): its CPU is the server's.
  out=$(XFERD_BENCH_FLOOR_LATENCIES=${XFERD_BENCH_FLOOR_LATENCIES:+$XFERD_BENCH_FLOOR_LATENCIES.$2} \
          "$bench" floor --service org.xferd.BenchEcho --samples 200 --pid "$bus_pid" \
          --server-pid "$(pgrep -P "$nginx_pid" | head -n1)" "${bg_opt[@]}") ||
    die "the floor case failed: $out"
  if [[ -n $floor_lpid ]]; then floor_loop_stop; else xferd_stop; fi
  echo_stop
  res[floor $tool]+="$(kv floor_p99_ms "$out") "
  res[nginx $tool]+="$(kv floor_server_cpu_ms "$out") "
  res[ofo $tool]+="$(kv floor_ofo "$out") "
  res[rate $tool]+="$(kv floor_lo_mib_per_s "$out") "
  echo "the floor beside $label: p50 $(kv floor_p50_ms "$out") ms, p90 $(kv floor_p90_ms "$out") ms," \
       "p99 $(kv floor_p99_ms "$out") ms, max $(kv floor_max_ms "$out") ms; $bus_name's CPU over the calls" \
       "$(kv floor_bus_cpu_ms "$out") ms in $(kv floor_wall_ms "$out") ms; meanwhile downloaded $(kv floor_lo_mib "$out") MiB" \
       "($(kv floor_lo_mib_per_s "$out") MiB/s), nginx's CPU $(kv floor_server_cpu_ms "$out") ms, TCP segments sent" \
       "again $(kv floor_retrans "$out"), received out of order $(kv floor_ofo "$out"), reported received twice" \
       "$(kv floor_dsack "$out")$([[ -n ${bg_opt[*]} ]] &&
         echo "; the GiB started again $(kv background_restarts "$out") time(s) (looked at every 50th call)")"
}

# The small case's download directories stay until the end: deleting many files right before a
# run slows every file creation after it (ext4 without a journal skips recently freed inodes).
small_n=0
small_dir() { small_n=$((small_n + 1)); dl=$work/dl-small.$small_n; mkdir "$dl"; sync; }
small_check() {
  diff -r -x '.*' "$work/www/small" "$dl" >/dev/null || die "$1: the files differ from the originals"
}
declare -A res_one res_one_cpu res_ratio res_one_ratio res_loop
curl_wall=
run_curl() {
  local out urls=()
  small_dir
  for ((i = 0; i < jobs; i++)); do urls+=("$(printf '%s/small/f%04d' "$base" "$i")"); done
  out=$("$bench" run -- curl -Z --parallel-max 16 -sS --no-progress-meter --fail --output-dir "$dl" \
          --remote-name-all "${urls[@]}")
  [[ $(kv status "$out") == 0 ]] || die "curl -Z failed"
  small_check curl
  curl_wall=$(kv wall "$out")
  res[curl]+="$curl_wall "
  echo "curl -Z: wall $curl_wall s, CPU $(calc "$(kv user "$out") + $(kv sys "$out")") s"
}
run_small() {  # BUILD → one line; res[BUILD] += wall of the jobs, res_one[BUILD] += the one job's
  local b=$1 out w c
  xferd_fresh "$b"
  small_dir
  "$bench" set-max 16
  local l0 l1
  l0=$(loop_run_ns "$xpid")
  out=$("$bench" many-jobs --count "$jobs" --url-prefix "$base/small/f" --dir "$dl" --pid "$xpid") ||
    die "$b: many-jobs failed: $out"
  l1=$(loop_run_ns "$xpid")
  small_check "$b"
  w=$(kv wall "$out"); c=$(calc "$(kv duser "$out") + $(kv dsys "$out")")
  res[$b]+="$w "; res_cpu[$b]+="$c "; res_ratio[$b]+="$(calc "$w / $curl_wall" 2) "
  res_loop[$b]+="$(calc "($l1 - $l0) / 1000000000" 3) "
  echo -n "$b: $jobs jobs wall $w s, daemon CPU $c s (its loop ran $(calc "($l1 - $l0) / 1000000000" 3) s); "
  xferd_fresh "$b"
  small_dir
  out=$("$bench" one-job --count "$jobs" --url-prefix "$base/small/f" --dir "$dl" --pid "$xpid" \
          --files-at-once 16) || die "$b: one-job failed: $out"
  small_check "$b"
  w=$(kv wall "$out"); c=$(calc "$(kv duser "$out") + $(kv dsys "$out")")
  res_one[$b]+="$w "; res_one_cpu[$b]+="$c "; res_one_ratio[$b]+="$(calc "$w / $curl_wall" 2) "
  echo "one job, 16 at once: wall $w s (AddFiles $(kv add "$out"), transfer $(kv transfer "$out"), Complete $(kv complete "$out")), daemon CPU $c s"
}

# xbus ARGS...: busctl on the bench's bus, to xferd.
xbus() { busctl --user "$@"; }
run_lanes() {  # BUILD → one line; res[BUILD] += wall, res_rss[BUILD] += peak RSS (MiB)
  local b=$1 job sum f t0 t1 c0 c1 state= hwm
  xferd_fresh "$b"
  fresh_dl
  read -r _ c0 < <(ticks "$xpid")
  t0=$(date +%s.%N)
  job=$(xbus call org.xferd.Transfer1 /org/xferd/Transfer1 org.xferd.Transfer1.Manager CreateJob 'sa{sv}' \
          lanes 1 max-concurrent-files u 16 | awk '{ gsub(/"/, "", $3); print $3 }')
  while read -r sum f; do
    xbus call org.xferd.Transfer1 "$job" org.xferd.Transfer1.Job AddFileWithOptions 'ssa{sv}' \
      "$base/lanes/$f" "$work/dl/$f" 1 checksum s "sha256:$sum" >/dev/null
  done <"$work/www/lanes.sums"
  xbus call org.xferd.Transfer1 "$job" org.xferd.Transfer1.Job Resume >/dev/null
  # The state is polled (20 ms): the wall is seconds, the figure of interest the peak RSS.
  while [[ $state != transferred ]]; do
    state=$(xbus get-property org.xferd.Transfer1 "$job" org.xferd.Transfer1.Job State | awk '{ gsub(/"/, "", $2); print $2 }')
    [[ $state == error || $state == cancelled ]] && die "$b: the lanes job ended $state"
    sleep 0.02
  done
  xbus call org.xferd.Transfer1 "$job" org.xferd.Transfer1.Job Complete >/dev/null
  t1=$(date +%s.%N)
  read -r _ c1 < <(ticks "$xpid")
  hwm=$(awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$xpid/status")
  (cd "$work/dl" && sha256sum -c --quiet "$work/www/lanes.sums") || die "$b: a downloaded file differs"
  res[$b]+="$(calc "$t1 - $t0") "
  res_rss[$b]+="$hwm "
  echo "$b: 16 files at once with checksums: wall $(calc "$t1 - $t0") s, daemon CPU $(calc "($c1 - $c0) / $clk_tck") s, peak RSS $hwm MiB"
}

# The store of the restart case, made once by the first build; every start works on a copy.
make_store() {
  local out
  xferd_fresh "${builds[0]}"
  mkdir -p "$work/dl"
  "$bench" set-max 1
  out=$("$bench" queue --queued --count "$jobs" --url "$base/slow/big" --dir "$work/dl" --window 64) ||
    die "queueing $jobs jobs failed"
  xferd_stop
  mv "$work/state" "$work/store"
  log "stored $(kv jobs "$out") queued jobs in $(kv wall "$out") s"
}
declare -A res_cpu res_loop res_list res_list_cpu res_list_bus res_list_client res_rss
# list_calls METHOD KEY: 5 calls of METHOD (ListJobs, ListJobsCompact) to the running xferd;
# appends to res_list*[KEY] and sets list_line; false when the build lacks the method.
list_calls() {
  local method=$1 key=$2 out t0 t1 bt0 bt1 walls=() cpu bus cl
  read -r _ t0 < <(ticks "$xpid")
  read -r _ bt0 < <(ticks "$bus_pid")
  out=$("$bench" list --reps 5 --method "$method" 2>/dev/null) || return 1
  read -r _ t1 < <(ticks "$xpid")
  read -r _ bt1 < <(ticks "$bus_pid")
  walls=($(sed -n 's/^ms=//p' <<<"$out"))
  cpu=$(calc "($t1 - $t0) * 1000 / $clk_tck / 5" 0)
  bus=$(calc "($bt1 - $bt0) * 1000 / $clk_tck / 5" 0)
  cl=$(calc "($(kv cuser "$out") + $(kv csys "$out")) * 1000 / 5" 0)
  res_list[$key]+="$(median "${walls[@]}") "
  res_list_cpu[$key]+="$cpu "
  res_list_bus[$key]+="$bus "
  res_list_client[$key]+="$cl "
  list_line="$method median $(median "${walls[@]}") ms (daemon CPU $cpu ms a call, $bus_name's $bus ms, the client's $cl ms;"
  list_line+=" slowest $(printf '%s\n' "${walls[@]}" | sort -g | tail -n1) ms;"
  list_line+=" the client then read the rows in $(median $(sed -n 's/^read_ms=//p' <<<"$out")) ms)"
}
run_restart() {  # BUILD → one line; res[BUILD] += restart wall
  local b=$1 out ms t0 faults rss line compact="; ListJobsCompact: none"
  xferd_stop
  rm -rf "$work/state"
  cp -a "$work/store" "$work/state"
  echo "$work/state" >"$work/state-current"
  echo "$b/xferd" >"$work/bin-current"
  out=$("$bench" list)      # activates xferd, which loads the store, then answers
  [[ $(kv jobs "$out") -eq $jobs ]] || die "$b: after a restart ListJobs returned $(kv jobs "$out") jobs"
  ms=$(kv ms "$out")
  xpid=$(cat "$work/xferd.pid")
  read -r lt0 t0 < <(ticks "$xpid")
  faults=$(awk '{ print $10 }' "/proc/$xpid/stat")
  res[$b]+="$ms "
  res_cpu[$b]+="$(calc "$t0 / $clk_tck" 2) "
  res_loop[$b]+="$(calc "$lt0 / $clk_tck" 2) "
  list_calls ListJobs "$b" || die "$b: ListJobs failed"
  line=$list_line
  list_calls ListJobsCompact "$b compact" && compact="; $list_line"
  rss=$(awk '/^VmRSS:/ { print $2 }' "/proc/$xpid/status")
  res_rss[$b]+="$(calc "$rss / 1024" 1) "
  echo "$b: restart $ms ms" \
       "(daemon CPU $(calc "$t0 / $clk_tck" 2) s, its loop's $(calc "$lt0 / $clk_tck" 2) s, $faults page faults); $line$compact; RSS $(calc "$rss / 1024" 1) MiB"
}

declare -A res_create_bus res_create_client res_create_loop
run_create() {  # BUILD → one line; res[BUILD] += jobs a second, res_cpu[BUILD] += µs a job
  local b=$1 out bt0 bt1 lt0 lt1 dus lus bus cus
  xferd_fresh "$b"
  fresh_dl
  "$bench" set-max 1
  read -r _ bt0 < <(ticks "$bus_pid")
  read -r lt0 _ < <(ticks "$xpid")
  out=$("$bench" create --count "$jobs" --window "$window" --url "$base/slow/big" --dir "$work/dl" --pid "$xpid") ||
    die "$b: the creation case failed: $out"
  read -r _ bt1 < <(ticks "$bus_pid")
  read -r lt1 _ < <(ticks "$xpid")
  lus=$(calc "($lt1 - $lt0) * 1000000 / $clk_tck / $jobs" 1)
  dus=$(calc "($(kv duser "$out") + $(kv dsys "$out")) * 1000000 / $jobs" 1)
  bus=$(calc "($bt1 - $bt0) * 1000000 / $clk_tck / $jobs" 1)
  cus=$(calc "($(kv cuser "$out") + $(kv csys "$out")) * 1000000 / $jobs" 1)
  res[$b]+="$(kv rate "$out") "
  res_cpu[$b]+="$dus "
  res_create_loop[$b]+="$lus "
  res_create_bus[$b]+="$bus "
  res_create_client[$b]+="$cus "
  echo "$b: $(kv jobs "$out") jobs in $(kv wall "$out") s: $(kv rate "$out") jobs/s; CPU a job: daemon $dus µs (its loop $lus µs)," \
       "$bus_name $bus µs, client $cus µs"
}

# echo_start [ARGS]: xferd-bench echo-serve on the bench's bus (echo_pid), or the script dies.
echo_pid= echo_cpid=
echo_start() {
  local line
  coproc echo_serve { exec "$bench" echo-serve --name org.xferd.BenchEcho "$@"; }
  echo_cpid=$echo_serve_PID
  { read -r -t 10 line <&"${echo_serve[0]}" && [[ $line == ready=* ]]; } 2>/dev/null ||
    die "echo-serve did not start"
  echo_pid=${line#ready=}
}
echo_stop() {
  [[ -n $echo_pid ]] && stop_pid "$echo_pid" 5
  [[ -n $echo_cpid ]] && { wait "$echo_cpid" 2>/dev/null || true; }
  echo_pid= echo_cpid=
}

# The bus's floor: the same calls to a trivial service (xferd-bench echo-serve) that answers
# at once after K signals of JobNew's shape, or ("contract") after the contract's two signals
# of a new job in xferd's shapes and sizes (InterfacesAdded, JobNew).
run_echo() {  # K → one line; res[echoK] += jobs a second, res_create_bus[echoK] += µs a call
  local k=$1 out bt0 bt1 epid bus what=(--signals "$1")
  [[ $k == contract ]] && what=(--contract)
  echo_start "${what[@]}"
  epid=$echo_pid
  read -r _ bt0 < <(ticks "$bus_pid")
  out=$("$bench" create --count "$jobs" --window "$window" --service org.xferd.BenchEcho --url "$base/slow/big" --dir "$work/dl" \
          --pid "$epid") || die "the echo service failed: $out"
  read -r _ bt1 < <(ticks "$bus_pid")
  echo_stop
  bus=$(calc "($bt1 - $bt0) * 1000000 / $clk_tck / $jobs" 1)
  res[echo$k]+="$(kv rate "$out") "
  res_create_bus[echo$k]+="$bus "
  echo "echo service, $k signal(s) a call: $(kv rate "$out") calls/s; CPU a call: $bus_name $bus µs," \
       "the service $(calc "($(kv duser "$out") + $(kv dsys "$out")) * 1000000 / $jobs" 1) µs"
}

log "case $case, ${#builds[@]} build(s), $rounds round(s) on $bus_name$([[ $case == create ]] && echo ", $window calls in flight")$([[ -n $limit ]] && echo ", downloads held to $limit MiB/s")$([[ -n $cpus_nginx$cpus_xferd ]] && echo ", nginx on CPUs ${cpus_nginx:-all}, xferd on CPUs ${cpus_xferd:-all}"); load average $(cut -d' ' -f1-3 /proc/loadavg)"
[[ $case == restart ]] && make_store
[[ $case == restart && $gone == 1 ]] && rm -rf "$work/dl"
n=${#builds[@]}
for ((r = 0; r < rounds; r++)); do
  if [[ $case == floor ]]; then
    tools=(curl aria2c dd "${builds[@]}")
    for ((j = 0; j < ${#tools[@]}; j++)); do  # the order turns every round
      tool=${tools[(j + r) % ${#tools[@]}]}
      printf 'round %d, load %s: ' "$((r + 1))" "$(cut -d' ' -f1 /proc/loadavg)"
      tag=$tool
      for ((k = 0; k < n; k++)); do [[ $tool == "${builds[k]}" ]] && tag=xferd-$k; done
      floor_beside "$tool" "$tag"
    done
    continue
  fi
  for ((k = 0; k < n; k++)); do
    b=${builds[(k + r) % n]}
    printf 'round %d, load %s: ' "$((r + 1))" "$(cut -d' ' -f1 /proc/loadavg)"
    [[ $case == small && $k -eq 0 ]] && { run_curl; printf 'round %d, load %s: ' "$((r + 1))" "$(cut -d' ' -f1 /proc/loadavg)"; }
    case $case in
      big) if [[ $both -eq 0 ]]; then run_big "$b"
           else  # without and with a checksum, the order turning every round
             local_w=()
             for c in $((r % 2)) $(((r + 1) % 2)); do checksum=$c; run_big "$b"; local_w[$c]=$last_wall
               [[ $c == $((r % 2)) ]] && printf 'round %d, load %s: ' "$((r + 1))" "$(cut -d' ' -f1 /proc/loadavg)"; done
             res_both_ratio[$b]+="$(calc "${local_w[1]} / ${local_w[0]}") "
           fi ;;
      small) run_small "$b" ;;
      lanes) run_lanes "$b" ;;
      cancel) run_cancel "$b" ;;
      restart) run_restart "$b" ;;
      create) run_create "$b" ;;
    esac
  done
  if [[ $case == big ]]; then printf 'round %d: ' "$((r + 1))"; run_floor; fi
  if [[ $case == create ]]; then
    for k in 0 3 contract; do printf 'round %d: ' "$((r + 1))"; run_echo "$k"; done
  fi
done
xferd_stop
case $case in
  big) what="wall (s)" ;;
  cancel) what="Cancel p99 (ms)" ;;
  restart) what="restart wall (ms)" ;;
  create) what="creation (jobs/s)" ;;
  small) what="wall of $jobs jobs (s)" ;;
  lanes) what="wall of 16 hashed files at once (s)" ;;
esac
if [[ $case == floor ]]; then
  for tool in curl aria2c dd "${builds[@]}"; do
    echo "median floor p99 (ms) beside $tool: $(median ${res[floor $tool]}) (${res[floor $tool]% });" \
         "MiB/s $(median ${res[rate $tool]}), nginx's CPU (ms) $(median ${res[nginx $tool]}), TCP segments out of order $(median ${res[ofo $tool]})"
  done
else
  for b in "${builds[@]}"; do echo "median $what: $(median ${res[$b]}) — $b (${res[$b]% })"; done
fi
if [[ $both -eq 1 ]]; then
  for b in "${builds[@]}"; do
    echo "median $what with a checksum: $(median ${res["$b sum"]}) — $b (${res["$b sum"]% }); ratio to without," \
         "median of the rounds: $(median ${res_both_ratio[$b]}) (${res_both_ratio[$b]% })"
  done
fi
if [[ $case == restart ]]; then
  for b in "${builds[@]}"; do
    echo "median restart CPU (s) $(median ${res_cpu[$b]}) (its loop's $(median ${res_loop[$b]})), ListJobs wall (ms) $(median ${res_list[$b]})," \
         "ListJobs daemon CPU (ms) $(median ${res_list_cpu[$b]}), $bus_name CPU (ms) $(median ${res_list_bus[$b]})," \
         "client CPU (ms) $(median ${res_list_client[$b]}), RSS (MiB) $(median ${res_rss[$b]}) — $b"
    if [[ -n ${res_list["$b compact"]:-} ]]; then
      echo "median ListJobsCompact wall (ms) $(median ${res_list["$b compact"]}), daemon CPU (ms)" \
           "$(median ${res_list_cpu["$b compact"]}), $bus_name CPU (ms) $(median ${res_list_bus["$b compact"]})," \
           "client CPU (ms) $(median ${res_list_client["$b compact"]}) — $b"
    fi
  done
fi
if [[ $case == create ]]; then
  for b in "${builds[@]}"; do
    echo "median CPU a job (µs): daemon $(median ${res_cpu[$b]}) (its loop $(median ${res_create_loop[$b]})), $bus_name $(median ${res_create_bus[$b]})," \
         "client $(median ${res_create_client[$b]}) — $b"
  done
  for k in 0 3 contract; do
    echo "median echo service with $k signal(s) a call: $(median ${res[echo$k]}) calls/s, $bus_name" \
         "$(median ${res_create_bus[echo$k]}) µs a call"
  done
fi
if [[ $case == small ]]; then
  echo "median curl -Z wall (s): $(median ${res[curl]}) (${res[curl]% })"
  for b in "${builds[@]}"; do
    echo "median $jobs jobs: daemon CPU (s) $(median ${res_cpu[$b]}) (loop $(median ${res_loop[$b]})), ÷ curl -Z $(median ${res_ratio[$b]});" \
         "one job, 16 at once: wall (s) $(median ${res_one[$b]}), daemon CPU (s) $(median ${res_one_cpu[$b]})," \
         "÷ curl -Z $(median ${res_one_ratio[$b]}) — $b"
  done
fi
[[ $case == big ]] && echo "median dd conv=fdatasync wall (s): $(median ${res[dd]}) (${res[dd]% })"
if [[ $case == lanes ]]; then
  for b in "${builds[@]}"; do echo "median peak RSS (MiB): $(median ${res_rss[$b]}) — $b (${res_rss[$b]% })"; done
fi
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
