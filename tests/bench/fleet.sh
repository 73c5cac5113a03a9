#!/usr/bin/env bash
# The fleet benchmark (issue 16): many machines fetch one file through one squid. Prints
# markdown table rows on stdout (progress goes to stderr). Not part of `meson test`. Run it
# as root on Debian 12 after scripts/setup-deps.sh (squid, nginx-light):
#
#   tests/bench/fleet.sh [--builddir DIR] [--machines N] [--size-mib M] [--keep]
#
#   --builddir DIR  the meson build directory (default build/; set up and built if needed)
#   --machines N    xferd instances, each with its own session bus and state (default 50)
#   --size-mib M    size of the file (default 64)
#   --keep          keep the work directory and say where
#
# All on 127.0.0.1 in one temporary directory under ${TMPDIR:-/var/tmp}: nginx as the
# origin (its access log counts the body bytes it sends), squid with docs/fleet/squid.conf
# included as it is (a cache directory of its own), and N "machines": a private
# dbus-daemon and an xferd (--user, its own state directory and xferd.conf) each. Two cases,
# every machine downloading the file with `xferctl download` at the same moment:
#   1. through the cache: xferd.conf has CacheHost= the squid;
#   2. without it: the same machines restarted without [Network].
# Measured: the origin's body bytes / file size (the goal through the cache: 1.0), the wall
# time from the start of the downloads until the last one finished, and the bytes the
# machines counted as from the cache (Manager.BytesFromCache, summed). Every file is checked
# against the origin's (cmp). Everything it starts is stopped when it exits.
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$srcdir/scripts/common.sh"
parse_options fleet.sh --builddir:builddir:value:build --machines:machines:number:50 \
  --size-mib:size_mib:number:64 --keep:keep:flag -- "$@"

log() { printf '[fleet %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'fleet.sh: %s\n' "$*" >&2; exit 1; }

squid_bin=$(command -v squid || echo /usr/sbin/squid)
[[ -x $squid_bin ]] || die "squid is missing (scripts/setup-deps.sh installs it)"
for tool in nginx dbus-daemon meson cmp; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup-deps.sh installs it)"
done

cd "$srcdir"
build_bench_tools || die "the build failed"

# ---- cleanup ---------------------------------------------------------------------------------
work=
pids=()
stop() { stop_pid "$1"; }
cleanup() {
  local status=$? pid
  trap - EXIT
  set +e
  for pid in "${pids[@]}"; do stop "$pid"; done
  if [[ -n "$work" ]]; then
    if [[ $keep -eq 1 ]]; then log "kept $work"; else rm -rf -- "$work"; fi
  fi
  exit "$status"
}
trap_cleanup cleanup

work=$(mktemp -d "${TMPDIR:-/var/tmp}/xferd-fleet.XXXXXX")
chmod 0755 "$work"
need_kib=$(( size_mib * 1024 * (machines + 3) ))
avail_kib=$(free_kib "$work")
(( avail_kib > need_kib )) || die "$work has $((avail_kib / 1024)) MiB free; $((need_kib / 1024)) MiB are needed"
mkdir -p "$work/www"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$work/www/update.bin"
size=$(stat -c %s "$work/www/update.bin")
log "work directory $work; the file: $size_mib MiB"

# ---- the origin: nginx, logging the body bytes of every response -----------------------------
port=$("$bench" free-port)
mkdir -p "$work/nginx/tmp"
cat >"$work/nginx/nginx.conf" <<EOF
daemon off;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  log_format bytes '\$request \$status \$body_bytes_sent';
  access_log $work/nginx/access.log bytes;
  default_type application/octet-stream;
  sendfile on;
  keepalive_requests 1000000;
$(nginx_temp_paths "$work/nginx/tmp")
  server { listen 127.0.0.1:$port; root $work/www; }
}
EOF
nginx -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" </dev/null >/dev/null 2>&1 &
pids+=($!)
url=http://127.0.0.1:$port/update.bin

wait_port() {
  local p=$1 i
  for ((i = 0; i < 600; i++)); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}
wait_port "$port" || die "nginx does not answer on port $port"
# %.0f, not %d: mawk's %d stops at 2^31.
origin_bytes() { awk '{ s += $NF } END { printf "%.0f", s }' "$work/nginx/access.log"; }

# ---- the cache: squid with the documented site configuration ----------------------------------
squid_port=$("$bench" free-port)
mkdir -p "$work/squid"
{
  echo "http_port 127.0.0.1:$squid_port"
  echo "visible_hostname xferd-bench-squid"
  echo "pid_filename $work/squid/squid.pid"
  echo "cache_log $work/squid/cache.log"
  echo "access_log stdio:$work/squid/access.log squid"
  echo "cache_store_log none"
  echo "coredump_dir $work/squid"
  echo "netdb_filename none"
  echo "icp_port 0"
  echo "htcp_port 0"
  echo "pinger_enable off"
  echo "shutdown_lifetime 1 seconds"
  [[ $(id -u) -eq 0 ]] && echo "cache_effective_user proxy"
  echo "include $srcdir/docs/fleet/squid.conf"
  echo "cache_dir ufs $work/squid/cache $((size_mib * 4 + 256)) 16 64"
  echo "http_access allow localhost"
  echo "http_access deny all"
} >"$work/squid/squid.conf"
[[ $(id -u) -eq 0 ]] && chown -R proxy:proxy "$work/squid"
"$squid_bin" -N -z -f "$work/squid/squid.conf" >/dev/null 2>&1 || die "squid -z failed (see $work/squid/cache.log)"
"$squid_bin" -N -f "$work/squid/squid.conf" >/dev/null 2>&1 &
pids+=($!)
wait_port "$squid_port" || die "squid does not answer on port $squid_port (see $work/squid/cache.log)"
log "origin nginx on $port, squid on $squid_port"

# ---- the machines ----------------------------------------------------------------------------
declare -a bus_address xferd_pid
start_machine() {  # start_machine I CONFIG
  local i=$1 config=$2 dir=$work/m$1
  mkdir -p "$dir/dl" "$dir/state"
  if [[ ! -f $dir/bus.conf ]]; then
    session_bus_config "$dir/bus" >"$dir/bus.conf"
    dbus-daemon --config-file="$dir/bus.conf" --nofork --nopidfile </dev/null >/dev/null 2>&1 &
    pids+=($!)
    bus_address[i]=unix:path=$dir/bus
  fi
  printf '%s' "$config" >"$dir/xferd.conf"
  for ((t = 0; t < 200; t++)); do [[ -S $dir/bus ]] && break; sleep 0.02; done
  DBUS_SESSION_BUS_ADDRESS=${bus_address[i]} "$xferd_bin" --user --idle-timeout=0 --state-dir="$dir/state" \
    --config="$dir/xferd.conf" --log-level=warning </dev/null 2>>"$dir/xferd.log" &
  xferd_pid[i]=$!
  pids+=($!)
}
ctl() {  # ctl I ARGS...
  local i=$1; shift
  DBUS_SESSION_BUS_ADDRESS=${bus_address[i]} "$xferctl_bin" --user "$@"
}
wait_machines() {
  local i t
  for ((i = 1; i <= machines; i++)); do
    for ((t = 0; t < 500; t++)); do ctl "$i" list >/dev/null 2>&1 && break; sleep 0.02; done
    ctl "$i" list >/dev/null 2>&1 || die "machine $i: xferd does not answer (see $work/m$i/xferd.log)"
  done
}
stop_machines() {
  local i
  for ((i = 1; i <= machines; i++)); do stop "${xferd_pid[i]}"; done
}
manager_uint64() {  # manager_uint64 I PROPERTY
  DBUS_SESSION_BUS_ADDRESS=${bus_address[$1]} busctl --user get-property org.xferd.Transfer1 \
    /org/xferd/Transfer1 org.xferd.Transfer1.Manager "$2" | awk '{ print $2 }'
}

# run_case NAME: every machine downloads the file at once; prints "wall origin_bytes from_cache".
run_case() {
  local name=$1 i failed=0 before t0 t1 from_cache=0
  local -a jobs=()
  before=$(origin_bytes)
  t0=$(date +%s.%N)
  for ((i = 1; i <= machines; i++)); do
    rm -f "$work/m$i/dl/update.bin"
    ctl "$i" --no-progress download "$url" "$work/m$i/dl/update.bin" >/dev/null 2>>"$work/m$i/xferctl.log" &
    jobs+=($!)
  done
  for i in "${!jobs[@]}"; do wait "${jobs[i]}" || failed=$((failed + 1)); done
  t1=$(date +%s.%N)
  (( failed == 0 )) || die "$name: $failed downloads failed (see $work/m*/xferctl.log)"
  for ((i = 1; i <= machines; i++)); do
    cmp -s "$work/www/update.bin" "$work/m$i/dl/update.bin" || die "$name: machine $i got different bytes"
    from_cache=$((from_cache + $(manager_uint64 "$i" BytesFromCache)))
    rm -f "$work/m$i/dl/update.bin"
  done
  awk -v a="$t0" -v b="$t1" -v o="$(( $(origin_bytes) - before ))" -v c="$from_cache" \
    'BEGIN { printf "%.2f %.0f %.0f\n", b - a, o, c }'
}

cache_config="[Network]
CacheHost=127.0.0.1:$squid_port
"
log "starting $machines machines (a bus and an xferd each)"
for ((i = 1; i <= machines; i++)); do start_machine "$i" "$cache_config"; done
wait_machines
log "case 1: $machines machines through the cache"
read -r wall_cache origin_cache from_cache < <(run_case cache)
stop_machines
for ((i = 1; i <= machines; i++)); do start_machine "$i" ""; done
wait_machines
log "case 2: $machines machines without the cache"
read -r wall_direct origin_direct from_cache_direct < <(run_case direct)
stop_machines

hits=$(grep -F "$url" "$work/squid/access.log" | grep -c "HIER_NONE" || true)
fetches=$(grep -F "$url" "$work/squid/access.log" | grep -c "HIER_DIRECT" || true)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo "| fleet: $machines machines × $size_mib MiB, through one squid | origin bytes / file size | $(ratio "$origin_cache" "$size") | goal 1.0 |"
echo "| fleet: $machines machines × $size_mib MiB, through one squid | wall (s) | $wall_cache | |"
echo "| fleet: $machines machines × $size_mib MiB, through one squid | BytesFromCache, all machines / file size | $(ratio "$from_cache" "$size") | $machines |"
echo "| fleet: $machines machines × $size_mib MiB, no cache | origin bytes / file size | $(ratio "$origin_direct" "$size") | ($machines) |"
echo "| fleet: $machines machines × $size_mib MiB, no cache | wall (s) | $wall_direct | |"
log "squid: $fetches request(s) to the origin, $hits answered by itself; BytesFromCache without the cache: $from_cache_direct"
