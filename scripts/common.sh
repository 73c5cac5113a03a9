# Shell functions the project's scripts share (scripts/demo.sh, scripts/test.sh,
# tests/bench/run.sh, tests/bench/ab.sh, tests/bench/fleet.sh, tests/bench/cancel-trace.sh,
# tests/packaging/run.sh). Sourced, never run:
#
#   . "$srcdir/scripts/common.sh"

# usage: the comment block at the top of the running script, without its '#': its --help.
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }

# pid_alive PID: true while PID exists (our children and non-children alike).
pid_alive() { [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null; }

# stop_pid PID [GRACE [NAME]]: SIGTERM, up to GRACE seconds (default 5) to end, then SIGKILL
# (said on stderr when NAME is given); returns once PID is gone, or 5 s after the SIGKILL.
stop_pid() {
  local pid=$1 grace=${2:-5} name=${3:-} i
  pid_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < grace * 20; i++)); do pid_alive "$pid" || return 0; sleep 0.05; done
  [[ -z $name ]] || echo "$name (pid $pid) did not stop on SIGTERM, killing it" >&2
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do pid_alive "$pid" || return 0; sleep 0.05; done
}

# trap_cleanup FUNCTION: FUNCTION runs when the script exits, also on Ctrl-C and SIGTERM (which
# exit with the shell's status for them).
trap_cleanup() {
  trap "$1" EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# session_bus_config SOCKET [SERVICEDIR [EXTRA]]: on stdout, the configuration of a private
# session-type bus listening on SOCKET that lets anyone call and own anything, activating
# from SERVICEDIR (none when empty), with EXTRA (e.g. <limit> elements) at its end.
session_bus_config() {
  cat <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$1</listen>
  <auth>EXTERNAL</auth>
${2:+  <servicedir>$2</servicedir>
}  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
${3:+$3
}</busconfig>
EOF
}

# start_bus CONFIG: starts dbus-daemon with the configuration file CONFIG and sets bus_address
# and bus_pid; false when it did not start. It prints the address, then the pid, once it
# listens (on descriptors of their own, each closed once written: its standard output, which
# the services it activates inherit, is /dev/null). Not --fork, which calls setsid(): with the
# scheduler's autogroups a session of its own would give the bus and the xferd it activates a
# CPU share of their own on a loaded machine, against curl's in the benchmarks' session.
start_bus() { read_bus bus_nofork "$1"; }
bus_nofork() { exec dbus-daemon --config-file="$1" --nofork --print-address=3 --print-pid=4 3>&1 4>&1 >/dev/null; }

# start_broker SOCKET SERVICEDIR CONTROLLER: a private session-type bus on dbus-broker listening
# on SOCKET, activating from SERVICEDIR, that lets anyone call and own anything, run by
# CONTROLLER (tests/bench's xferd-bench-broker: dbus-broker-launch starts services only through
# systemd); sets bus_address and bus_pid (dbus-broker's; stopping it stops the bus) as start_bus.
start_broker() { read_bus "$3" --listen="$1" --servicedir="$2"; }

# read_bus CMD...: runs CMD, which prints a bus's address, then its pid, and returns once the bus
# listens; sets bus_address and bus_pid, false when they are missing.
read_bus() {
  bus_address=
  bus_pid=
  { read -r bus_address; read -r bus_pid; } < <("$@" </dev/null)
  [[ -n "${bus_address:-}" && -n "${bus_pid:-}" ]]
}

# free_kib DIR: the KiB free on the file system of DIR.
free_kib() { df -Pk "$1" | awk 'NR == 2 { print $4 }'; }

# need_value SCRIPT OPTION [VALUE...]: in an argument loop, `need_value run.sh "$@"` before
# taking $2: a usage error (exit 2) unless the option has a value.
need_value() {
  [[ $# -ge 3 ]] || { echo "$1: $2 needs a value" >&2; exit 2; }
}
# need_number SCRIPT OPTION [VALUE...]: the same for a whole number above 0.
need_number() {
  [[ $# -ge 3 && $3 =~ ^[1-9][0-9]*$ ]] || { echo "$1: $2 needs a number" >&2; exit 2; }
}

# parse_options SCRIPT SPEC... -- ARG...: the arguments of SCRIPT by a table of its options.
# A SPEC is OPTION:VARIABLE:KIND[:DEFAULT], KIND one of flag (VARIABLE is 1 when OPTION is
# given, else 0), value (VARIABLE takes the argument after OPTION, else DEFAULT or empty) or
# number (the same for a whole number above 0); @:VARIABLE:arg takes an argument that is no
# option. -h and --help print the usage and exit 0; any other argument is a usage error (exit 2).
parse_options() {
  local script=$1 spec opt var kind default
  local -a specs=()
  shift
  while [[ $1 != -- ]]; do
    specs+=("$1")
    IFS=: read -r opt var kind default <<<"$1"
    case $kind in
      flag) printf -v "$var" 0 ;;
      value|number) printf -v "$var" %s "$default" ;;
    esac
    shift
  done
  shift
  while [[ $# -gt 0 ]]; do
    [[ $1 != -h && $1 != --help ]] || { usage; exit 0; }
    kind=unknown
    for spec in "${specs[@]}"; do
      IFS=: read -r opt var kind default <<<"$spec"
      [[ $opt == "$1" || ($opt == @ && $1 != -*) ]] && break
      kind=unknown
    done
    case $kind in
      flag) printf -v "$var" 1; shift ;;
      value) need_value "$script" "$@"; printf -v "$var" %s "$2"; shift 2 ;;
      number) need_number "$script" "$@"; printf -v "$var" %s "$2"; shift 2 ;;
      arg) printf -v "$var" %s "$1"; shift ;;
      *) echo "$script: unknown argument '$1' (try --help)" >&2; exit 2 ;;
    esac
  done
}

# build_bench_tools: builds xferd, xferctl, xferd-bench and xferd-bench-broker in $builddir (set
# up first when it is not yet; relative to the source tree) and sets builddir (absolute),
# xferd_bin, xferctl_bin, bench and bench_broker; false when the build failed. For tests/bench/*.sh.
build_bench_tools() {
  if [[ $builddir != /* ]]; then builddir=$srcdir/$builddir; fi
  [[ -f "$builddir/build.ninja" ]] || meson setup "$builddir" >&2
  meson compile -C "$builddir" xferd xferctl xferd-bench xferd-bench-broker >&2 || return 1
  xferd_bin=$builddir/xferd
  xferctl_bin=$builddir/client/xferctl
  bench=$builddir/tests/bench/xferd-bench
  bench_broker=$builddir/tests/bench/xferd-bench-broker
}

# nginx_temp_paths DIR: the lines of an nginx http block that keep its temporary files in DIR.
nginx_temp_paths() {
  local k
  for k in client_body proxy fastcgi uwsgi scgi; do printf '  %s_temp_path %s/%s;\n' "$k" "$1" "$k"; done
}

# bench_nginx WORK PORT PROBE: nginx for the benchmarks (tests/bench/run.sh, ab.sh) on
# 127.0.0.1:PORT serving WORK/www (sendfile, keep-alive; /slow/ the same files at 128 KiB/s
# per connection), its files under WORK/nginx; sets nginx_pid and base, and returns once
# PROBE (a path under www) answers, false (with nginx's log on stderr) when it does not.
# $XFERD_BENCH_NGINX_EXTRA, when set, is added to the http block (experiments on the server's
# side, e.g. 'sendfile_max_chunk 256k;'). $XFERD_BENCH_NGINX_CPUS, when set, is the CPU list
# (taskset's) nginx runs on.
bench_nginx() {
  local work=$1 port=$2 probe=$3 i
  mkdir -p "$work/nginx/tmp"
  cat >"$work/nginx/nginx.conf" <<EOF
daemon off; master_process on; worker_processes 1;
pid $work/nginx/nginx.pid; error_log $work/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; default_type application/octet-stream;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  keepalive_timeout 65s; keepalive_requests 1000000;
  ${XFERD_BENCH_NGINX_EXTRA:-}
$(nginx_temp_paths "$work/nginx/tmp")
  server {
    listen 127.0.0.1:$port;
    root $work/www;
    location /slow/ { alias $work/www/; limit_rate 128k; }
  }
}
EOF
  ${XFERD_BENCH_NGINX_CPUS:+taskset -c "$XFERD_BENCH_NGINX_CPUS"} nginx -p "$work/nginx/" -c "$work/nginx/nginx.conf" -e "$work/nginx/error.log" </dev/null \
    >"$work/nginx/stdout" 2>&1 &
  nginx_pid=$!
  base=http://127.0.0.1:$port
  for ((i = 0; i < 100; i++)); do
    curl -sf -o /dev/null "$base/$probe" && return 0
    pid_alive "$nginx_pid" || break
    sleep 0.05
  done
  curl -sf -o /dev/null "$base/$probe" && return 0
  cat "$work/nginx/error.log" "$work/nginx/stdout" >&2
  return 1
}
