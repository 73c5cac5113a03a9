#!/usr/bin/env bash
# Benchmarks xferd against curl and aria2c on this machine (issue 5) and prints a markdown
# table on stdout (progress goes to stderr). Not part of `meson test`. Run it as root (the
# job limits exempt root) on Debian 12 after scripts/setup-deps.sh:
#
#   tests/bench/run.sh [--builddir DIR | DIR] [--reps N] [--quick] [--keep] [--queue N] [--only queue]
#                      [--bus daemon|broker|both]
#
#   --builddir DIR  the meson build directory (default build/; set up and built if needed)
#   --reps N        repetitions of every timed case (default 3; medians are reported; cases 1
#                   and 2 run one more, uncounted round first to warm up)
#   --quick         a smoke run with small sizes and 1 repetition (well under a minute)
#   --keep          keep the work directory (logs, state, nginx config) and say where
#   --queue N       the number of queued jobs of case 4 (default 100000; 2000 with --quick)
#   --only queue    run cases 4 and 5 only, and print their rows
#   --bus both      (the default) cases 2b and 4 run on a private dbus-daemon (the rows with
#                   the targets: Debian's bus) and again on a private dbus-broker (rows of their
#                   own: the bus of Fedora, Arch and others; Debian's package, run by
#                   xferd-bench-broker, the controller of tests/bench/bench-broker.c); with
#                   daemon or broker, every case runs on that bus alone
#
# It starts, all on 127.0.0.1 and in one temporary directory under ${TMPDIR:-/var/tmp}:
# nginx with its own config (sendfile, keep-alive; /slow/ limited to 128 KiB/s per
# connection), a private session bus (dbus-daemon, and dbus-broker beside it) whose activation file runs
#   DIR/xferd --user --idle-timeout=0 --state-dir=<tmp>/state-<case>
# (a fresh state directory for every timed xferd case), and measures (case 2 first: the memory
# churn of case 1 makes small transfers noisier on some VMs):
#   1. one 1 GiB file of random bytes: xferctl download vs curl -o vs aria2c -x1 -s1 and
#      aria2c with its defaults (wall time; CPU = user+sys of the client, plus xferd's own
#      CPU from /proc/PID/stat for xferd), and xferctl download --checksum=sha256:… in the
#      same rounds (the digest is computed on worker threads while the bytes are written; the
#      CPU of xferd's event-loop thread is counted apart from its other threads'), and the
#      disk's floor: dd conv=fdatasync of the same bytes from the page cache (xferd syncs a
#      file before it appears; curl and aria2c do not);
#   2. 1000 files of 16 KiB: as 1000 Download calls (pipelined by tests/bench/xferd-bench,
#      MaxBackgroundTransfers = 16) and as one job of 1000 files (CreateJob + AddFiles +
#      Resume + Transferred + Complete), one file after another and with MaxConcurrentFiles = 16,
#      vs curl -Z --parallel-max 16 and aria2c -j 16 -i, and (for the one job whose files go
#      one after another) curl without -Z; curl -Z runs twice a repetition (after the 1000 jobs
#      in the rotation, and after curl without -Z), since on a shared VM its own wall swings
#      by 3 × and every ratio of the case is to its median; no xferd runs beside the others;
#   2b. the creation path: N Download calls (pipelined, 64 in flight) of /slow/big into a
#      fresh state directory, first call → last reply, as jobs/s and the daemon's CPU per
#      job (16 of the jobs transfer meanwhile, the rest wait queued);
#   3. Cancel latency (call → reply; the temporary file is checked to be gone right after
#      the reply) of 1000 cancels with 100 transfers running (MaxBackgroundTransfers = 100, /slow/), counting
#      the store checkpoints meanwhile; then with 20 running while the big file downloads with
#      a checksum (hashed as it is written), and from a resume of it at half on (the half
#      held after a Suspend is hashed from byte 0 while the rest arrives); 3b. ListJobs from a second connection while the
#      fsync of a completion hangs 5 s (XFERD_TEST_DELAY);
#   4. 100 000 queued jobs (one Download call each, pipelined, with MaxBackgroundTransfers = 1
#      and a slow URL, so that all but one wait queued): the creation rate, ListJobs and
#      ListJobsCompact times,
#      VmRSS, the restart time (xferd stopped; activating ListJobs call → reply), and the
#      Cancel latency of queued jobs spread over the queue;
#   5. idle: context switches and syscalls (strace -c -f) over 10 s of the xferd of case 4,
#      once every job is suspended (no watchdog: it is not run by systemd).
# Everything it starts is stopped and the directory removed when it exits, also on Ctrl-C.
# It exits 0 when the measurements ran, whether or not the targets are met.
# The fleet benchmark (many machines, one file, one squid as the site's cache) is a script of
# its own, tests/bench/fleet.sh, with rows of its own in docs/benchmarks.md.
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$srcdir/scripts/common.sh"
parse_options run.sh --builddir:builddir:value:build @:builddir:arg --reps:reps:number:3 --quick:quick:flag \
  --keep:keep:flag --queue:n_queue:number --only:only:value --bus:bus_choice:value:both -- "$@"
[[ -z $only || $only == queue ]] || { echo "run.sh: --only takes 'queue'" >&2; exit 2; }
case $bus_choice in
  both) buses=(daemon broker) ;;
  daemon|broker) buses=("$bus_choice") ;;
  *) echo "run.sh: --bus takes daemon, broker or both" >&2; exit 2 ;;
esac

if [[ $quick -eq 1 ]]; then
  big_mib=64; n_small=100; n_running=20; n_samples=20; n_cancels=20; n_queue=${n_queue:-2000}; idle_s=2; reps=1; n_create=1000
else
  big_mib=1024; n_small=1000; n_running=100; n_samples=200; n_cancels=1000; n_queue=${n_queue:-100000}; idle_s=10; n_create=10000
fi
[[ -n $only ]] && big_mib=1 n_small=1
small_kib=16
parallel=16

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || log "warning: not root, so the job limits apply: case 4 ($n_queue jobs) will fail"
for tool in nginx curl aria2c strace "${buses[@]/#/dbus-}" meson ninja cmp; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup-deps.sh installs it)"
done

# ---- build ------------------------------------------------------------------------------
cd "$srcdir"
log "building xferd, xferctl and xferd-bench in $builddir"
build_bench_tools || die "the build failed (is -Dtests=false set? tests/bench needs the tests option)"
for f in "$xferd_bin" "$xferctl_bin" "$bench"; do [[ -x $f ]] || die "$f was not built"; done
# The source tree the build directory was set up from (a copy can be benchmarked too).
xferd_src=$(sed -n 's/.*"source": *"\([^"]*\)".*/\1/p' "$builddir/meson-info/meson-info.json" 2>/dev/null)
xferd_src=${xferd_src:-$srcdir}

# ---- work directory and cleanup -------------------------------------------------------------
work=
bus_pid=
declare -A bus_pids bus_addresses
nginx_pid=
helper_pid=

# stop PID: SIGTERM, up to 10 s, then SIGKILL; waits until it is gone.
stop() { stop_pid "$1" 10; }
xferd_running_pid() { [[ -n "$work" && -s "$work/xferd.pid" ]] && cat "$work/xferd.pid"; }
xferd_stop() {
  local pid
  pid=$(xferd_running_pid) || return 0
  stop "$pid"
  rm -f "$work/xferd.pid"
}

cleanup() {
  local status=$?
  trap - EXIT
  trap '' INT TERM
  set +e
  [[ -n "$helper_pid" ]] && stop "$helper_pid"
  xferd_stop
  for b in "${bus_pids[@]}"; do stop "$b"; done
  stop "$nginx_pid"
  if [[ -n "$work" ]]; then
    if [[ $keep -eq 1 ]]; then log "kept $work"; else rm -rf -- "$work"; fi
  fi
  exit "$status"
}
trap_cleanup cleanup

work=$(mktemp -d "${TMPDIR:-/var/tmp}/xferd-bench.XXXXXX")
chmod 0755 "$work"     # nginx workers run as nobody
need_kib=$(( (big_mib * 2 + 512) * 1024 ))
avail_kib=$(free_kib "$work")
(( avail_kib > need_kib )) || die "$work has $((avail_kib / 1024)) MiB free; $((need_kib / 1024)) MiB are needed"
work_fs=$(stat -f -c %T "$work")
log "work directory $work ($work_fs)"

# ---- test data ------------------------------------------------------------------------------
mkdir -p "$work/www/small"
t0=$(date +%s.%N)
head -c "$((big_mib * 1024 * 1024))" /dev/urandom >"$work/www/big"
(cd "$work/www/small" && head -c "$((n_small * small_kib * 1024))" /dev/urandom |
   split -b "$((small_kib * 1024))" -d -a 4 - f)
t1=$(date +%s.%N)
gen_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
log "generated ${big_mib} MiB + ${n_small} × ${small_kib} KiB of random data from /dev/urandom in ${gen_s} s"
big_sum=sha256:$(sha256sum "$work/www/big" | cut -d' ' -f1)
[[ $(ls "$work/www/small" | wc -l) -eq $n_small ]] || die "split made the wrong number of files"

# ---- nginx ------------------------------------------------------------------------------------
port=$("$bench" free-port)
bench_nginx "$work" "$port" small/f0000 || die "nginx does not answer on 127.0.0.1:$port"
log "nginx (pid $nginx_pid) serves $work/www on $base"

# ---- the bus and xferd's activation -------------------------------------------------------------
mkdir -p "$work/services"
cat >"$work/xferd-launch" <<EOF
#!/bin/sh
# Run by the bus on activation; the state directory of the current case is in state-current.
echo \$\$ >"$work/xferd.pid"
exec "$xferd_bin" --user --idle-timeout=0 --state-dir="\$(cat "$work/state-current")" 2>>"$work/xferd.log"
EOF
chmod 0755 "$work/xferd-launch"
cat >"$work/services/org.xferd.Transfer1.service" <<EOF
[D-BUS Service]
Name=org.xferd.Transfer1
Exec=$work/xferd-launch
EOF
# session.conf's limits: pipelined calls need more than the 128 pending replies of the default.
bus_limits='  <limit name="max_incoming_bytes">1000000000</limit>
  <limit name="max_outgoing_bytes">1000000000</limit>
  <limit name="max_message_size">1000000000</limit>
  <limit name="service_start_timeout">120000</limit>
  <limit name="max_replies_per_connection">50000</limit>
  <limit name="max_match_rules_per_connection">50000</limit>'
session_bus_config "$work/bus.socket" "$work/services" "$bus_limits" >"$work/bus.conf"
# dbus-broker's limits are xferd-bench-broker's (the same sizes).
for b in "${buses[@]}"; do
  if [[ $b == daemon ]]; then start_bus "$work/bus.conf"; else start_broker "$work/broker.socket" "$work/services" "$bench_broker"; fi ||
    die "dbus-$b did not start"
  bus_pids[$b]=$bus_pid
  bus_addresses[$b]=$bus_address
  log "private session bus $bus_address (dbus-$b pid $bus_pid)"
done
unset DBUS_SYSTEM_BUS_ADDRESS
# use_bus daemon|broker: the bus the next calls (and activations) go through.
use_bus() {
  xferd_stop
  export DBUS_SESSION_BUS_ADDRESS=${bus_addresses[$1]}
  bus_pid=${bus_pids[$1]}
}
use_bus "${buses[0]}"

# xferd_fresh NAME: stops xferd, points activation at a new empty state directory, activates
# xferd (one ListJobs call) and sets xpid.
xpid=
xferd_fresh() {
  xferd_stop
  rm -rf "$work/state-$1"
  echo "$work/state-$1" >"$work/state-current"
  "$bench" list >/dev/null || { tail -n 20 "$work/xferd.log" >&2; die "xferd did not start"; }
  xpid=$(xferd_running_pid) || die "no xferd pid"
}

# ---- helpers for numbers ------------------------------------------------------------------------
# kv KEY TEXT: the value of KEY=… in TEXT.
kv() { sed -n "s/^$1=//p" <<<"$2" | head -n1; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan";
  else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
# fresh_dir: a new empty download directory in $dl. Small files stay until the end: deleting
# many files right before a run slows every file creation after it (ext4 without a journal
# skips recently freed inodes), whichever program runs next. Large files go (space).
dl=
dl_n=0
fresh_dir() {
  [[ -n "$dl" ]] && find "$dl" -maxdepth 1 -type f -size +1M -delete
  dl_n=$((dl_n + 1))
  dl=$work/dl.$dl_n
  mkdir -p "$dl"
  sync
}
check_small() {
  local n
  n=$(find "$dl" -maxdepth 1 -type f -name 'f[0-9]*' | wc -l)
  [[ $n -eq $n_small ]] || die "$1: $n of $n_small files arrived"
  diff -r -x '.*' "$work/www/small" "$dl" >/dev/null || die "$1: the files differ from the originals"
}

declare -A wall cpu
# record_round CASE TOOL: the wall time and CPU of a round ($out, $c) go to wall[CASE,TOOL] and
# cpu[CASE,TOOL], unless it is the warm-up (rep 0), and into the log, with the CPU of xferd's
# event loop and of its other threads ($lc, $oc) for xferd.
record_round() {
  if [[ $rep -gt 0 ]]; then wall[$1,$2]+="$(kv wall "$out") "; cpu[$1,$2]+="$c "; fi
  log "  $([[ $rep -gt 0 ]] && echo "rep $rep" || echo warm-up) $2: wall $(kv wall "$out") s, cpu $c s$([[ $2 == xferd* ]] && echo ", daemon loop $lc s, other threads $oc s")"
}
# ---- 2. many small files (measured first: the memory churn of case 1 makes it noisier) -------------
if [[ -z $only ]]; then
log "case 2: $n_small files of $small_kib KiB, $reps repetition(s)"
urls=()
for ((i = 0; i < n_small; i++)); do urls+=("$(printf '%s/small/f%04d' "$base" "$i")"); done
printf '%s\n' "${urls[@]}" >"$work/list.txt"
for ((rep = 0; rep <= reps; rep++)); do      # rep 0 warms up (caches, allocator) and is not counted
  # curl -Z twice: its median, the divisor of three ratios, from twice the samples; one after
  # an xferd run, one after curl's own, and no xferd left running behind a program's run.
  tools=(jobs curl onejob onejob16 curlseq curl aria2)
  for ((k = 0; k < ${#tools[@]}; k++)); do
    tool=${tools[(k + rep) % ${#tools[@]}]}     # the order rotates: nobody always runs first
    # xferd starts before the directory is made, so every program runs right after fresh_dir.
    if [[ $tool == jobs || $tool == onejob* ]]; then xferd_fresh "$tool"; else xferd_stop; fi
    fresh_dir
    case $tool in
      jobs)
        "$bench" set-max "$parallel"
        out=$("$bench" many-jobs --count "$n_small" --url-prefix "$base/small/f" --dir "$dl" --pid "$xpid")
        c=$(calc "$(kv cuser "$out") + $(kv csys "$out") + $(kv duser "$out") + $(kv dsys "$out")") ;;
      onejob|onejob16)
        at_once=1; [[ $tool == onejob16 ]] && at_once=$parallel
        out=$("$bench" one-job --count "$n_small" --url-prefix "$base/small/f" --dir "$dl" --pid "$xpid" \
                --files-at-once "$at_once")
        c=$(calc "$(kv cuser "$out") + $(kv csys "$out") + $(kv duser "$out") + $(kv dsys "$out")")
        log "  (one job: AddFiles $(kv add "$out") s, transfer $(kv transfer "$out") s, Complete $(kv complete "$out") s)" ;;
      curl)
        out=$("$bench" run -- curl -Z --parallel-max "$parallel" -sS --no-progress-meter --fail --output-dir "$dl" \
                --remote-name-all "${urls[@]}")
        [[ $(kv status "$out") == 0 ]] || die "curl -Z failed"
        c=$(calc "$(kv user "$out") + $(kv sys "$out")") ;;
      curlseq)  # one after another on one connection, like the files of one job
        out=$("$bench" run -- curl -sS --no-progress-meter --fail --output-dir "$dl" --remote-name-all "${urls[@]}")
        [[ $(kv status "$out") == 0 ]] || die "curl failed"
        c=$(calc "$(kv user "$out") + $(kv sys "$out")") ;;
      aria2)
        out=$("$bench" run -- aria2c -j "$parallel" -i "$work/list.txt" -d "$dl" -q \
                --allow-overwrite=true --auto-file-renaming=false)
        [[ $(kv status "$out") == 0 ]] || die "aria2c -j failed"
        c=$(calc "$(kv user "$out") + $(kv sys "$out")") ;;
    esac
    check_small "$tool"
    record_round small "$tool"
  done
done
xferd_stop

# ---- 2b. the creation path ----------------------------------------------------------------------
declare -A create_rate create_us create_all
for b in "${buses[@]}"; do
use_bus "$b"
log "case 2b: $n_create Download calls on dbus-$b, $reps repetition(s)"
create_rates=(); create_cpu=()
for ((rep = 1; rep <= reps; rep++)); do
  xferd_fresh "create-$rep"
  "$bench" set-max "$parallel"
  mkdir -p "$work/create-$rep"
  out=$("$bench" create --count "$n_create" --url "$base/slow/big" --dir "$work/create-$rep" --pid "$xpid") ||
    die "the creation case failed: $out"
  create_rates+=("$(kv rate "$out")")
  create_cpu+=("$(calc "($(kv duser "$out") + $(kv dsys "$out")) * 1000000 / $n_create" 0)")
  log "  rep $rep: $(kv jobs "$out") jobs in $(kv wall "$out") s: ${create_rates[-1]} jobs/s, daemon CPU ${create_cpu[-1]} µs a job"
  xferd_stop
  rm -rf "$work/create-$rep"
done
create_rate[$b]=$(median "${create_rates[@]}"); create_us[$b]=$(median "${create_cpu[@]}")
create_all[$b]="${create_rates[*]}"
done
use_bus "${buses[0]}"

# ---- 1. one big file ----------------------------------------------------------------------------
big_label="${big_mib} MiB"; [[ $big_mib -eq 1024 ]] && big_label="1 GiB"
log "case 1: one $big_label file, $reps repetition(s)"
# CPU ticks of xferd's main thread (the event loop) and of the whole process: the hashing of a
# checksummed download must not land on the loop.
clk_tck=$(getconf CLK_TCK)
declare -A loopcpu othercpu
xferd_ticks() { echo "$(awk '{ print $14 + $15 }' "/proc/$1/task/$1/stat") $(awk '{ print $14 + $15 }' "/proc/$1/stat")"; }
for ((rep = 0; rep <= reps; rep++)); do      # rep 0 warms up (caches, allocator) and is not counted
  tools=(xferd curl aria2 aria2d xferdsum ddsync)
  for ((k = 0; k < ${#tools[@]}; k++)); do
    tool=${tools[(k + rep) % ${#tools[@]}]}
    if [[ $tool == xferd || $tool == xferdsum ]]; then xferd_fresh big; read -r lt0 pt0 < <(xferd_ticks "$xpid"); fi
    fresh_dir
    dest=$dl/big
    case $tool in
      xferd)
        out=$("$bench" run --pid "$xpid" -- "$xferctl_bin" --user --no-progress download "$base/big" "$dest")
        c=$(calc "$(kv user "$out") + $(kv sys "$out") + $(kv duser "$out") + $(kv dsys "$out")") ;;
      xferdsum)
        out=$("$bench" run --pid "$xpid" -- "$xferctl_bin" --user --no-progress --checksum="$big_sum" \
                download "$base/big" "$dest")
        c=$(calc "$(kv user "$out") + $(kv sys "$out") + $(kv duser "$out") + $(kv dsys "$out")") ;;
      curl)
        out=$("$bench" run -- curl -sS --fail -o "$dest" "$base/big")
        c=$(calc "$(kv user "$out") + $(kv sys "$out")") ;;
      ddsync)  # the disk's floor for a download that is synced before it appears, as xferd's are
        out=$("$bench" run -- dd if="$work/www/big" of="$dest" bs=1M conv=fdatasync status=none)
        c=$(calc "$(kv user "$out") + $(kv sys "$out")") ;;
      aria2|aria2d)
        opts=(-x1 -s1); [[ $tool == aria2d ]] && opts=()
        out=$("$bench" run -- aria2c "${opts[@]}" -q --allow-overwrite=true --auto-file-renaming=false \
                -d "$dl" -o big "$base/big")
        c=$(calc "$(kv user "$out") + $(kv sys "$out")") ;;
    esac
    [[ $(kv status "$out") == 0 ]] || die "$tool failed on the big file"
    if [[ $tool == xferd || $tool == xferdsum ]]; then
      read -r lt1 pt1 < <(xferd_ticks "$xpid")
      lc=$(calc "($lt1 - $lt0) / $clk_tck" 3); oc=$(calc "($pt1 - $pt0 - ($lt1 - $lt0)) / $clk_tck" 3)
      if [[ $rep -gt 0 ]]; then loopcpu[big,$tool]+="$lc "; othercpu[big,$tool]+="$oc "; fi
    fi
    cmp -s "$work/www/big" "$dest" || die "$tool: the downloaded file differs"
    record_round big "$tool"
  done
done
xferd_stop

# ---- 3. Cancel latency ----------------------------------------------------------------------------
# Issue 17's row: 1000 cancels with 100 running (the p99 their 11th slowest, rank 990 of 1000;
# the rows below keep 200 each, the p99 the 3rd slowest).
log "case 3: Cancel latency with $n_running transfers running ($n_cancels cancels)"
fresh_dir
xferd_fresh cancel
# The store checkpoints meanwhile (every 1000 pages of log, on a worker thread): the database
# file changes only then, so its modification times count them. One process looks, not a
# stat and a sleep started 50 times a second, which took CPU from the cancels they measure.
db=$work/state-cancel/xferd.db
/usr/bin/python3 - "$db" "$work/checkpoints" <<'PY' &
import os, sys, time
db, out = sys.argv[1:3]
last, n = None, 0
while True:
    try:
        t = os.stat(db).st_mtime_ns
    except OSError:
        t = None
    if t is not None and t != last:
        if last is not None:
            n += 1
        last = t
        with open(out, "w") as f:
            f.write(str(n))
    time.sleep(0.02)
PY
ckpt_watch=$!
# How long the loop thread was runnable but waited for a CPU meanwhile (schedstat, ns): on two
# cores that, not the loop's own work, makes the tails.
loop_waited() { awk '{ print $2 }' "/proc/$1/task/$1/schedstat"; }
w0=$(loop_waited "$xpid"); t0=$(date +%s.%N)
out=$("$bench" cancel --count "$n_running" --samples "$n_cancels" --url "$base/slow/big" --dir "$dl") ||
  die "the Cancel case failed: $out"
cancel_wait="$(calc "($(loop_waited "$xpid") - $w0) / 1000000" 0) ms of $(calc "$(date +%s.%N) - $t0" 1) s"
kill "$ckpt_watch" 2>/dev/null; wait "$ckpt_watch" 2>/dev/null || true
cancel_ckpts=$(cat "$work/checkpoints" 2>/dev/null || echo 0)
cancel_p50=$(kv p50_ms "$out"); cancel_p99=$(kv p99_ms "$out"); cancel_max=$(kv max_ms "$out")
cancel_left=$(kv leftovers "$out")
log "  p50 $cancel_p50 ms, p90 $(kv p90_ms "$out") ms, p99 $cancel_p99 ms, max $cancel_max ms, leftovers $cancel_left, store checkpoints $cancel_ckpts; the loop waited for a CPU $cancel_wait"
xferd_stop
fresh_dir

# Cancel while a download is hashed: as it is written, and (after a Suspend at half) the bytes
# held before the Resume goes on.
n_hash_running=$(( n_running < 20 ? n_running : 20 ))
declare -A hash_p99 hash_max hash_n hash_left hash_state hash_wait
# plain: the same download without a checksum, to tell the hashing from the disk's share.
for mode in plain write prefix; do
  xferd_fresh "cancel-$mode"
  fresh_dir
  extra=(); [[ $mode == prefix ]] && extra=(--resume-at "$((big_mib * 1024 * 1024 / 2))")
  sum=$big_sum; [[ $mode == plain ]] && sum=none
  w0=$(loop_waited "$xpid"); t0=$(date +%s.%N)
  out=$("$bench" cancel --count "$n_hash_running" --samples "$n_samples" --url "$base/slow/big" --dir "$dl" \
          --background "$base/big" --checksum "$sum" "${extra[@]}") || die "the Cancel-while-hashing case failed: $out"
  hash_p99[$mode]=$(kv p99_ms "$out"); hash_max[$mode]=$(kv max_ms "$out"); hash_n[$mode]=$(kv samples "$out")
  hash_left[$mode]=$(kv leftovers "$out"); hash_state[$mode]=$(kv background_restarts "$out")
  hash_wait[$mode]="$(calc "($(loop_waited "$xpid") - $w0) / 1000000" 0) ms of $(calc "$(date +%s.%N) - $t0" 1) s"
  log "  while hashing ($mode): ${hash_n[$mode]} cancels, p50 $(kv p50_ms "$out") ms, p99 ${hash_p99[$mode]} ms," \
      "max ${hash_max[$mode]} ms, leftovers ${hash_left[$mode]}, the download started again ${hash_state[$mode]} time(s);" \
      "the loop waited for a CPU ${hash_wait[$mode]}"
  xferd_stop
done

# ---- 3b. a destination whose fsync hangs ----------------------------------------------------------
# XFERD_TEST_DELAY (the test hook, daemon/io-pool.h) makes the worker thread hold the fsync of
# a completion in directories named slow-fsync for 5 s; meanwhile a second connection calls
# ListJobs every 20 ms.
log "case 3b: ListJobs while a destination's fsync hangs 5 s"
activation_env() {
  busctl --address="$DBUS_SESSION_BUS_ADDRESS" call org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus UpdateActivationEnvironment 'a{ss}' 1 XFERD_TEST_DELAY "$1" >/dev/null
}
activation_env FSYNC:5:slow-fsync
xferd_fresh hang
mkdir -p "$dl/slow-fsync"
out=$("$bench" hang --url "$base/small/f0000" --dir "$dl/slow-fsync" --log "$work/xferd.log" --samples 100) ||
  die "the hang case failed: $out"
hang_p50=$(kv p50_ms "$out"); hang_max=$(kv max_ms "$out"); hang_held=$(kv held "$out")
log "  ListJobs p50 $hang_p50 ms, max $hang_max ms over $(kv samples "$out") calls; completion still held: $hang_held"
xferd_stop
activation_env ""
fresh_dir
fi  # not --only queue

# ---- 4. many queued jobs ----------------------------------------------------------------------------
# One job runs (a slow URL, MaxBackgroundTransfers = 1), every other one waits queued, so every
# call and every pass of the scheduler meets all of them. On every bus of --bus; the idle case
# (5) follows on the first.
yn() { awk "BEGIN { exit !($1) }" && echo yes || echo "**no**"; }
# target_cells BUS TARGET CONDITION: the target and met? cells of a row: dbus-daemon's rows hold
# the targets, dbus-broker's say what xferd does on the other bus.
target_cells() {
  if [[ $1 == daemon ]]; then echo "$2 | $(yn "$3")"; else echo "— (dbus-daemon's row holds the target) | —"; fi
}
# queue_rows BUS: the rows of case 4 on BUS, from the variables of its run.
queue_rows() {
  local l="$n_queue queued jobs" b=$1
  [[ $b == daemon ]] || l+=", on dbus-$b"
  cat <<ROWS
| $l | creation: Download calls (64 in flight) per second (xferd's CPU: $queue_create_cpu s; dbus-$b's: $queue_create_bus s) | $queue_rate | | | | | $(target_cells "$b" "≥ 20 000 /s" "$queue_rate >= 20000") |
| $l | ListJobs, median of all $(( ${#list_ms[@]} + ${#list2_ms[@]} )) calls (ms; CPU a call: xferd $list_cpu ms, dbus-$b $list_bus ms; slowest $list_max; the second call after a restart, median: $(median "${list_second[@]}")) | $list_med | | | | | $(target_cells "$b" "≤ 250 ms" "$list_med <= 250") |
| $l | ListJobsCompact, the same rows without the paths (ms; beside ListJobs, whose row is the target's) | $compact_med | | | | | — | — |
| $l | RSS after restart (MiB; after creating: $(calc "$rss_created / 1024" 1)) | $(calc "$rss_med / 1024" 1) | | | | | $(target_cells "$b" "≤ 128 MiB" "$rss_med <= 128 * 1024") |
| $l | restart: activation → ListJobs reply (xferd's CPU by then: $(median "${restart_cpu[@]}") s) | $(calc "$restart_med / 1000" 3) | | | | | $(target_cells "$b" "≤ 1 s" "$restart_med <= 1000") |
| $l | Cancel of a queued job, call → reply, p99 (ms; p50 $queue_cancel_p50, max $queue_cancel_max) | $queue_cancel_p99 | | | | | $(target_cells "$b" "≤ 2 ms" "$queue_cancel_p99 <= 2") |
ROWS
}
# The CPU seconds of xferd and of the bus beside the wall times: on a loaded machine they say
# what each costs itself.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
mkdir -p "$work/queue"
queue_table=
restarts_line=
for b in "${buses[@]}"; do
use_bus "$b"
log "case 4: $n_queue queued jobs on dbus-$b"
xferd_fresh queue
"$bench" set-max 1
cpu0=$(cpu_s "$xpid"); bcpu0=$(cpu_s "$bus_pid")
out=$("$bench" queue --queued --count "$n_queue" --url "$base/slow/big" --dir "$work/queue" --window 64) ||
  die "queueing jobs failed"
queue_create_s=$(kv wall "$out")
queue_rate=$(calc "$n_queue / $queue_create_s" 0)
queue_create_cpu=$(calc "$(cpu_s "$xpid") - $cpu0" 2)
queue_create_bus=$(calc "$(cpu_s "$bus_pid") - $bcpu0" 2)
log "  created $(kv jobs "$out") jobs (Download) in $queue_create_s s: $queue_rate jobs/s; xferd's CPU $queue_create_cpu s, dbus-$b's $queue_create_bus s"
cpu0=$(cpu_s "$xpid"); bcpu0=$(cpu_s "$bus_pid")
out=$("$bench" list --reps "$((reps * 3))")
[[ $(kv jobs "$out") -eq $n_queue ]] || die "ListJobs returned $(kv jobs "$out") jobs, not $n_queue"
# Every call is one sample of the row: those right after creating and those after each restart.
list_ms=($(sed -n 's/^ms=//p' <<<"$out"))
log "  ListJobs right after creating (ms): ${list_ms[*]}"
list_cpu=$(calc "($(cpu_s "$xpid") - $cpu0) * 1000 / $reps / 3" 0)
list_bus=$(calc "($(cpu_s "$bus_pid") - $bcpu0) * 1000 / $reps / 3" 0)
rss_created=$(rss_kib "$xpid")
restart_ms=(); restart_cpu=(); list2_ms=(); list_second=(); compact_ms=(); rss_restarted=()
for ((rep = 1; rep <= reps; rep++)); do
  xferd_stop
  out=$("$bench" list)      # activates xferd, which loads the store, then answers
  [[ $(kv jobs "$out") -eq $n_queue ]] || die "after a restart ListJobs returned $(kv jobs "$out") jobs"
  restart_ms+=("$(kv ms "$out")")
  xpid=$(xferd_running_pid)
  restart_cpu+=("$(cpu_s "$xpid")")
  out=$("$bench" list --reps 3)
  list2_ms+=($(sed -n 's/^ms=//p' <<<"$out"))
  out=$("$bench" list --reps 3 --method ListJobsCompact)
  compact_ms+=($(sed -n 's/^ms=//p' <<<"$out"))
  rss_restarted+=("$(rss_kib "$xpid")")
  list_second+=("${list2_ms[-3]}")
  log "  restart $rep: ListJobs (ms) ${list2_ms[*]: -3}, ListJobsCompact (ms) ${compact_ms[*]: -3}"
  log "  restart $rep: activation + ListJobs ${restart_ms[-1]} ms (xferd's CPU ${restart_cpu[-1]} s), RSS ${rss_restarted[-1]} KiB"
done
restart_med=$(median "${restart_ms[@]}")
list_med=$(median "${list_ms[@]}" "${list2_ms[@]}")
list_max=$(printf '%s\n' "${list_ms[@]}" "${list2_ms[@]}" | sort -g | tail -n1)
compact_med=$(median "${compact_ms[@]}")
rss_med=$(median "${rss_restarted[@]}")
log "  ListJobs $list_med ms (CPU a call: xferd $list_cpu ms, dbus-$b $list_bus ms), ListJobsCompact $compact_med ms (medians), RSS after creating $rss_created KiB, after restart $rss_med KiB"
out=$("$bench" cancel-queued --samples "$n_samples") || die "cancelling queued jobs failed"
queue_cancel_p50=$(kv p50_ms "$out"); queue_cancel_p99=$(kv p99_ms "$out"); queue_cancel_max=$(kv max_ms "$out")
log "  Cancel of a queued job ($n_samples of $(kv queued "$out")): p50 $queue_cancel_p50 ms, p99 $queue_cancel_p99 ms, max $queue_cancel_max ms"
queue_table+="$(queue_rows "$b")"$'\n'
restarts_line+="Restarts on dbus-$b (ms): ${restart_ms[*]}. RSS after each restart (KiB): ${rss_restarted[*]}. "
[[ $b == "${buses[0]}" ]] || continue
out=$("$bench" suspend-all) || die "suspending the jobs failed"
log "  suspended $(kv jobs "$out") jobs in $(kv wall "$out") s"

# ---- 5. idle --------------------------------------------------------------------------------------
log "case 5: idle for $idle_s s (xferd pid $xpid, $((n_queue - n_samples)) suspended jobs)"
sleep 1
cs() { awk '/^(voluntary|nonvoluntary)_ctxt_switches:/ { n += $2 } END { print n }' /proc/"$1"/task/*/status; }
cs0=$(cs "$xpid"); ticks0=$(awk '{ print $14 + $15 }' "/proc/$xpid/stat")
sleep "$idle_s"
cs1=$(cs "$xpid"); ticks1=$(awk '{ print $14 + $15 }' "/proc/$xpid/stat")
idle_cs=$((cs1 - cs0)); idle_ticks=$((ticks1 - ticks0))
timeout -s INT "$idle_s" strace -c -f -p "$xpid" -o "$work/strace.txt" 2>/dev/null &
helper_pid=$!
wait "$helper_pid" || true
helper_pid=
idle_calls=$(awk '$NF == "total" { print $4 }' "$work/strace.txt")
idle_calls=${idle_calls:-0}
idle_epoll=$(awk '$NF == "epoll_wait" { print $4 }' "$work/strace.txt"); idle_epoll=${idle_epoll:-0}
log "  context switches $idle_cs, CPU ticks $idle_ticks; strace: $idle_calls syscalls, $idle_epoll epoll_wait"
done
xferd_stop

# ---- the table ------------------------------------------------------------------------------------
create_rows() {
  local b
  for b in "${buses[@]}"; do
    echo "| $n_create \`Download\` calls (creation path)$([[ $b == daemon ]] || echo ", on dbus-$b") | jobs/s, first call → last reply (daemon CPU a job: ${create_us[$b]} µs) | ${create_rate[$b]} | | | | | $(target_cells "$b" "≥ 20 000 jobs/s (at 100 000 jobs)" "${create_rate[$b]} >= 20000") |"
  done
}
queue_rows_all() {
  printf '%s' "$queue_table"
  cat <<ROWS
| idle ${idle_s} s, suspended jobs only | wake-ups (context switches) / CPU ticks | $idle_cs / $idle_ticks | | | | | none | $(yn "$idle_cs == 0") |
| idle ${idle_s} s, suspended jobs only | syscalls (strace -c -f; 1 is strace's own detach) / of them epoll_wait | $idle_calls / $idle_epoll | | | | | none | $(yn "$idle_calls <= 1") |
ROWS
}
cpu_model=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
machine_line() {
  echo "Machine: $(nproc) CPUs, $cpu_model, kernel $(uname -r), $(awk '/^MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), work directory on $work_fs; $(date -u '+%Y-%m-%d %H:%M UTC'); load average $(cut -d' ' -f1-3 /proc/loadavg)."
}
bus_versions() {
  local b
  for b in "${buses[@]}"; do "dbus-$b" --version | head -n1 | sed 's/^D-Bus Message Bus Daemon /dbus-daemon /'; done | paste -sd, - | sed 's/,/, /g'
}
bus_option() { [[ $bus_choice == both ]] || echo " --bus $bus_choice"; }
if [[ -n $only ]]; then
  machine_line
  cat <<EOF2
Versions: xferd $(git -C "$xferd_src" describe --always --dirty 2>/dev/null || echo '?'), $(bus_versions).
Command: \`tests/bench/run.sh$([[ $quick -eq 1 ]] && echo ' --quick') --reps $reps --queue $n_queue --only queue$(bus_option)\`; medians of $reps repetition(s).

| work | measure | xferd | curl | aria2c | xferd / curl | aria2c / xferd | target | met? |
|---|---|---|---|---|---|---|---|---|
$(queue_rows_all)

$restarts_line
EOF2
  exit 0
fi
m() { median ${1}; }
w_x=$(m "${wall[big,xferd]}"); w_c=$(m "${wall[big,curl]}"); w_a=$(m "${wall[big,aria2]}"); w_ad=$(m "${wall[big,aria2d]}")
c_x=$(m "${cpu[big,xferd]}"); c_c=$(m "${cpu[big,curl]}"); c_a=$(m "${cpu[big,aria2]}"); c_ad=$(m "${cpu[big,aria2d]}")
w_xs=$(m "${wall[big,xferdsum]}"); c_xs=$(m "${cpu[big,xferdsum]}"); w_dd=$(m "${wall[big,ddsync]}")
l_x=$(m "${loopcpu[big,xferd]}"); l_xs=$(m "${loopcpu[big,xferdsum]}"); o_x=$(m "${othercpu[big,xferd]}"); o_xs=$(m "${othercpu[big,xferdsum]}")
s_j=$(m "${wall[small,jobs]}"); s_o=$(m "${wall[small,onejob]}"); s_c=$(m "${wall[small,curl]}"); s_a=$(m "${wall[small,aria2]}")
s_cs=$(m "${wall[small,curlseq]}"); sc_cs=$(m "${cpu[small,curlseq]}")
s_o16=$(m "${wall[small,onejob16]}"); sc_o16=$(m "${cpu[small,onejob16]}")
sc_j=$(m "${cpu[small,jobs]}"); sc_o=$(m "${cpu[small,onejob]}"); sc_c=$(m "${cpu[small,curl]}"); sc_a=$(m "${cpu[small,aria2]}")

r() { calc "$1 / $2" 2; }
small_label="$n_small × $small_kib KiB"

machine_line
cat <<EOF
Versions: xferd $(git -C "$xferd_src" describe --always --dirty 2>/dev/null || echo '?'), $(curl --version | head -n1 | cut -d' ' -f1-2), aria2c $(aria2c --version | head -n1 | awk '{ print $3 }'), $(nginx -v 2>&1 | sed 's/.*: //'), $(bus_versions).
Command: \`tests/bench/run.sh$([[ $quick -eq 1 ]] && echo ' --quick')$([[ $quick -eq 0 ]] && echo " --reps $reps") --queue $n_queue$(bus_option)\`; medians of $reps repetition(s) after an uncounted warm-up round (cases 1 and 2); times in seconds unless marked.

| work | measure | xferd | curl | aria2c | xferd / curl | aria2c / xferd | target | met? |
|---|---|---|---|---|---|---|---|---|
| $big_label, one file | wall | $w_x | $w_c | $w_a | $(r "$w_x" "$w_c") | $(r "$w_a" "$w_x") | ≤ 1.05 × curl | $(yn "$w_x <= 1.05 * $w_c") |
| $big_label, one file | CPU (user+sys; xferd: daemon + xferctl) | $c_x | $c_c | $c_a | $(r "$c_x" "$c_c") | $(r "$c_a" "$c_x") | ≤ 1.0 × curl | $(yn "$c_x <= 1.0 * $c_c") |
| $big_label, aria2c defaults | wall / CPU | | | $w_ad / $c_ad | | | — | |
| $big_label, the disk's floor: \`dd conv=fdatasync\` of the same bytes from the page cache | wall (xferd ÷ it: $(r "$w_x" "$w_dd")) | $w_dd | | | | | — | |
| $big_label, \`--checksum=sha256:…\` | wall (÷ xferd without, same rounds: $(r "$w_xs" "$w_x")) | $w_xs | $w_c | | $(r "$w_xs" "$w_c") | | ≤ 1.10 × xferd without | $(yn "$w_xs <= 1.10 * $w_x") |
| $big_label, \`--checksum=sha256:…\` | CPU (÷ xferd without: $(r "$c_xs" "$c_x")) | $c_xs | $c_c | | $(r "$c_xs" "$c_c") | | — | |
| $big_label, \`--checksum=sha256:…\` | the daemon's event-loop thread's CPU (without a checksum: $l_x; ÷ that: $(r "$l_xs" "$l_x")); its other threads' (without: $o_x) | $l_xs; $o_xs | | | | | loop ≤ 1.10 × without | $(yn "$l_xs <= 1.10 * $l_x") |
| $small_label, $n_small jobs | wall | $s_j | $s_c | $s_a | $(r "$s_j" "$s_c") | $(r "$s_a" "$s_j") | ≤ 2.5 × curl -Z (issue 17: a job each costs a D-Bus call, a commit and signals); aria2c ≥ 3 × | $(yn "$s_j <= 2.5 * $s_c"); $(yn "$s_a >= 3 * $s_j") |
| $small_label, one job | wall | $s_o | $s_c | $s_a | $(r "$s_o" "$s_c") | $(r "$s_a" "$s_o") | ≤ 1.5 × curl -Z; aria2c ≥ 3 × | $(yn "$s_o <= 1.5 * $s_c"); $(yn "$s_a >= 3 * $s_o") |
| $small_label, one job, MaxConcurrentFiles = $parallel | wall (CPU: $sc_o16) | $s_o16 | $s_c | $s_a | $(r "$s_o16" "$s_c") | $(r "$s_a" "$s_o16") | ≤ 1.5 × curl -Z | $(yn "$s_o16 <= 1.5 * $s_c") |
| $small_label, one job vs curl one file at a time | wall (CPU) | $s_o ($sc_o) | $s_cs ($sc_cs) | | $(r "$s_o" "$s_cs") | | — | |
$(create_rows)
| $small_label | CPU ($n_small jobs / one job; xferd: daemon + client) | $sc_j / $sc_o | $sc_c | $sc_a | $(r "$sc_j" "$sc_c") / $(r "$sc_o" "$sc_c") | | — | |
| Cancel, $n_running running ($n_cancels cancels) | call → reply, p50 / max (ms); the loop thread waited for a CPU $cancel_wait | $cancel_p50 / $cancel_max | | | | | — | |
| Cancel, $n_running running ($n_cancels cancels) | call → reply, p99 (ms); temp files left: $cancel_left; store checkpoints meanwhile: $cancel_ckpts | $cancel_p99 | | | | | ≤ 2 ms, none left | $(yn "$cancel_p99 <= 2 && $cancel_left == 0") |
| Cancel, $n_hash_running running, while $big_label downloads without a checksum (${hash_n[plain]} cancels; for comparison) | p99 / max (ms); left: ${hash_left[plain]}; the loop waited for a CPU ${hash_wait[plain]} | ${hash_p99[plain]} / ${hash_max[plain]} | | | | | — | |
| Cancel, $n_hash_running running, while $big_label is hashed as written (${hash_n[write]} cancels) | p99 / max (ms); left: ${hash_left[write]}; the loop waited for a CPU ${hash_wait[write]} | ${hash_p99[write]} / ${hash_max[write]} | | | | | ≤ 2 ms, none left | $(yn "${hash_p99[write]} <= 2 && ${hash_left[write]} == 0") |
| Cancel, $n_hash_running running, from a resume of $big_label on (its half held hashed from byte 0 while the rest arrives; ${hash_n[prefix]} cancels) | p99 / max (ms); left: ${hash_left[prefix]}; the loop waited for a CPU ${hash_wait[prefix]} | ${hash_p99[prefix]} / ${hash_max[prefix]} | | | | | ≤ 2 ms, none left | $(yn "${hash_p99[prefix]} <= 2 && ${hash_left[prefix]} == 0") |
| a destination whose fsync hangs 5 s | another connection's ListJobs, max (p50) ms; completion held throughout: $hang_held | $hang_max ($hang_p50) | | | | | ≤ 50 ms | $(yn "$hang_max <= 50") |
$(queue_rows_all)

Every repetition (wall / CPU, seconds): $big_label xferd ${wall[big,xferd]}/ ${cpu[big,xferd]}; xferd --checksum ${wall[big,xferdsum]}/ ${cpu[big,xferdsum]}; curl ${wall[big,curl]}/ ${cpu[big,curl]}; aria2c -x1 -s1 ${wall[big,aria2]}/ ${cpu[big,aria2]}; aria2c ${wall[big,aria2d]}/ ${cpu[big,aria2d]}; dd conv=fdatasync ${wall[big,ddsync]}/ ${cpu[big,ddsync]}. $small_label: $n_small jobs ${wall[small,jobs]}/ ${cpu[small,jobs]}; one job ${wall[small,onejob]}/ ${cpu[small,onejob]}; one job, $parallel files at once ${wall[small,onejob16]}/ ${cpu[small,onejob16]}; curl -Z ${wall[small,curl]}/ ${cpu[small,curl]}; curl one at a time ${wall[small,curlseq]}/ ${cpu[small,curlseq]}; aria2c -j ${wall[small,aria2]}/ ${cpu[small,aria2]}. $restarts_line$(for b in "${buses[@]}"; do printf 'Creation on dbus-%s (jobs/s): %s. ' "$b" "${create_all[$b]}"; done)

Notes: aria2c runs as \`aria2c -x1 -s1\` (one connection, like curl and xferd; otherwise its defaults, including \`--file-allocation=prealloc\`) and, in the third row, with all its defaults. The ${small_label} cases run $parallel transfers at once everywhere (curl -Z twice in every repetition, both in its median): \`curl -Z --parallel-max $parallel\`, \`aria2c -j $parallel -i\`, xferd with MaxBackgroundTransfers = $parallel for $n_small Download calls sent by one client with up to 64 calls in flight; the files of one job transfer one after another by default (one connection), or $parallel at a time with MaxConcurrentFiles = $parallel (a connection each over HTTP/1.1). xferd makes finished files durable before they appear (data, rename, directory; completions within 5 ms form one batch that shares the data sync: one syncfs when their data is nearly all the dirty data, else every file's writeback started, then fdatasync each); curl and aria2c do not sync. Creating the $n_queue jobs took $queue_create_s s. The test data ($big_label and $small_label of /dev/urandom) took $gen_s s to make. Plain HTTP/1.1 with keep-alive (nginx offers HTTP/2 only over TLS).
EOF
