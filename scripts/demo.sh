#!/usr/bin/env bash
# Shows xferd at work, from a fresh Debian 12 machine to a verified download:
#
#   1. installs the dependencies (scripts/setup-deps.sh; needs root) and builds xferd;
#   2. uses a private session bus whose activation file starts build/xferd --user
#      (unless DBUS_SESSION_BUS_ADDRESS is set and xferd is activatable there);
#   3. serves a 64 MiB file of random bytes from a local test HTTP server on 127.0.0.1;
#   4. downloads it with `xferctl download` (progress shown), checks its SHA-256;
#   5. does the same through busctl with auto-complete off: only a hidden temporary file
#      exists until Complete; then a second job is cancelled after its transfer and
#      leaves nothing behind, and a second Cancel fails with InvalidState.
#
#   scripts/demo.sh [--builddir DIR] [--skip-deps] [--size MIB]
#
# Everything it starts (bus, HTTP server, xferd) is stopped and its temporary directory
# removed when it exits, also on Ctrl-C.
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$srcdir/scripts/common.sh"
parse_options demo.sh --builddir:builddir:value:build --skip-deps:skip_deps:flag --size:size_mib:number:64 -- "$@"

if [[ -t 1 ]]; then
  bold=$'\e[1m'; dim=$'\e[2m'; red=$'\e[31m'; green=$'\e[32m'; reset=$'\e[0m'
else
  bold=; dim=; red=; green=; reset=
fi

step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$reset"; }
note() { printf '%s    %s%s\n' "$dim" "$*" "$reset"; }
die() { printf '%sdemo.sh: %s%s\n' "$red" "$*" "$reset" >&2; exit 1; }
# show CMD...: prints the command as typed, then runs it.
show() {
  local a out=()
  for a in "$@"; do
    if [[ $a =~ [^A-Za-z0-9_./:=@,+-] ]]; then out+=("'${a//\'/\'\\\'\'}'"); else out+=("$a"); fi
  done
  printf '%s$ %s%s\n' "$bold" "${out[*]}" "$reset"
  "$@"
}

workdir=
bus_pid=
httpd_pid=
xferd_pid=
private_bus=0

# stop PID NAME: SIGTERM, up to 5 s grace, then SIGKILL.
stop() { stop_pid "$1" 5 "demo.sh: $2"; }

cleanup() {
  local status=$?
  trap - EXIT
  trap '' INT TERM
  set +e
  if [[ $private_bus -eq 1 && -z "$xferd_pid" && -n "$bus_pid" ]]; then
    xferd_pid=$(name_owner_pid)
  fi
  # xferd was started by activation on our private bus, so it is ours to stop.
  [[ $private_bus -eq 1 ]] && stop "$xferd_pid" xferd
  stop "$httpd_pid" "test HTTP server"
  stop "$bus_pid" dbus-daemon
  [[ -n "$workdir" ]] && rm -rf -- "$workdir"
  if [[ $status -eq 0 ]]; then
    printf '\n%sDemo finished; everything it started is stopped and its files removed.%s\n' "$green" "$reset"
  else
    printf '\n%sDemo failed (exit status %d); everything it started is stopped.%s\n' "$red" "$status" "$reset" >&2
  fi
  exit "$status"
}
trap_cleanup cleanup

# name_owner_pid: the pid of the process owning org.xferd.Transfer1, or nothing.
name_owner_pid() {
  busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
    GetConnectionUnixProcessID s org.xferd.Transfer1 2>/dev/null | awk '{print $2}'
}

cd "$srcdir"

# --- 1. dependencies and build ----------------------------------------------------------
if [[ $skip_deps -eq 0 ]]; then
  step "Installing the build and test dependencies (Debian packages)"
  scripts/setup-deps.sh
fi

step "Building xferd in $builddir/"
if [[ ! -f "$builddir/build.ninja" ]]; then
  show meson setup "$builddir"
fi
show meson compile -C "$builddir"

if [[ $builddir == /* ]]; then bdir=$builddir; else bdir=$srcdir/$builddir; fi
xferd_bin=$bdir/xferd
xferctl_bin=$bdir/client/xferctl
[[ -x "$xferctl_bin" ]] || xferctl_bin=$bdir/xferctl
httpd_bin=$bdir/tests/xferd-test-httpd
for f in "$xferd_bin" "$xferctl_bin" "$httpd_bin"; do
  [[ -x "$f" ]] || die "$f was not built (is -Dtests=false set? the test HTTP server needs it)"
done

workdir=$(mktemp -d "${TMPDIR:-/tmp}/xferd-demo.XXXXXX")
chmod 0755 "$workdir"

# --- 2. the bus ---------------------------------------------------------------------------
use_existing_bus=0
if [[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
  if busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
       ListActivatableNames 2>/dev/null | grep -q '"org.xferd.Transfer1"' ||
     busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
       NameHasOwner s org.xferd.Transfer1 2>/dev/null | grep -q '^b true'; then
    use_existing_bus=1
  fi
fi

if [[ $use_existing_bus -eq 1 ]]; then
  step "Using your session bus ($DBUS_SESSION_BUS_ADDRESS), where xferd is installed"
  note "This shows the installed xferd, not the one just built in $builddir/."
else
  step "Starting a private session bus that activates $builddir/xferd"
  if [[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ]]; then
    note "Your session bus has no xferd activation file (xferd is not installed), so a private one is used."
  fi
  mkdir -p "$workdir/services"
  cat >"$workdir/services/org.xferd.Transfer1.service" <<EOF
[D-BUS Service]
Name=org.xferd.Transfer1
Exec=$xferd_bin --user --state-dir=$workdir/state
EOF
  session_bus_config "$workdir/bus.socket" "$workdir/services" >"$workdir/bus.conf"
  note "activation file $workdir/services/org.xferd.Transfer1.service:"
  sed 's/^/      /' "$workdir/services/org.xferd.Transfer1.service"
  start_bus "$workdir/bus.conf" || die "dbus-daemon did not start"
  private_bus=1
  export DBUS_SESSION_BUS_ADDRESS=$bus_address
  note "DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS (dbus-daemon pid $bus_pid)"
  note "xferd is not running yet; the bus knows it can start it:"
  show busctl --user call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus ListActivatableNames
fi

# --- 3. content and the HTTP server ---------------------------------------------------------
step "Making a ${size_mib} MiB test file and serving it on 127.0.0.1"
mkdir -p "$workdir/www" "$workdir/downloads"
head -c "$((size_mib * 1024 * 1024))" /dev/urandom >"$workdir/www/file"
want_sha=$(sha256sum "$workdir/www/file" | awk '{print $1}')
note "sha256 $want_sha"

"$httpd_bin" --root "$workdir/www" >"$workdir/httpd.out" 2>"$workdir/httpd.err" </dev/null &
httpd_pid=$!
port=
for ((i = 0; i < 100; i++)); do
  port=$(sed -n 's/^PORT=\([0-9][0-9]*\)$/\1/p' "$workdir/httpd.out" | head -n1)
  [[ -n "$port" ]] && break
  pid_alive "$httpd_pid" || { cat "$workdir/httpd.err" >&2; die "the test HTTP server exited"; }
  sleep 0.1
done
[[ -n "$port" ]] || die "the test HTTP server printed no PORT= line within 10 s"
url=http://127.0.0.1:$port/file
note "serving $url"

# --- 4. xferctl download ------------------------------------------------------------------------
step "Downloading with xferctl (the first call activates xferd)"
dest1=$workdir/downloads/file-xferctl
show "$xferctl_bin" --user download "$url" "$dest1"
[[ $private_bus -eq 1 ]] && xferd_pid=$(name_owner_pid)
[[ $private_bus -eq 1 ]] && note "xferd was started by D-Bus activation, pid ${xferd_pid:-?}"
got_sha=$(sha256sum "$dest1" | awk '{print $1}')
[[ "$got_sha" == "$want_sha" ]] || die "SHA-256 mismatch: $got_sha != $want_sha"
printf '%s    SHA-256 matches: %s%s\n' "$green" "$got_sha" "$reset"

# --- 5. the same through busctl -------------------------------------------------------------------
manager=(org.xferd.Transfer1 /org/xferd/Transfer1 org.xferd.Transfer1.Manager)

# job_call PATH ARGS...: busctl call on a job object.
job_call() { local path=$1; shift; show busctl --user call org.xferd.Transfer1 "$path" org.xferd.Transfer1.Job "$@"; }
job_prop() {
  busctl --user get-property org.xferd.Transfer1 "$1" org.xferd.Transfer1.Job "$2" |
    sed -e 's/^[a-z]* //' -e 's/^"\(.*\)"$/\1/'
}
# wait_state PATH STATE: polls the job's State for up to 120 s.
wait_state() {
  local path=$1 want=$2 state i
  for ((i = 0; i < 1200; i++)); do
    state=$(job_prop "$path" State)
    [[ "$state" == "$want" ]] && return 0
    if [[ "$state" == error ]]; then
      die "job went to error: $(job_prop "$path" ErrorName): $(job_prop "$path" ErrorMessage)"
    fi
    sleep 0.1
  done
  die "job did not reach '$want' within 120 s (State is '$state')"
}
# download_no_autocomplete DEST: starts a Download with auto-complete off; sets job_id, job_path.
download_no_autocomplete() {
  local out
  printf '%s$ busctl --user call %s Download ssa{sv} %s %s 1 auto-complete b false%s\n' \
    "$bold" "${manager[*]}" "$url" "$1" "$reset"
  out=$(busctl --user call "${manager[@]}" Download 'ssa{sv}' "$url" "$1" 1 auto-complete b false)
  echo "$out"
  read -r _ job_id job_path <<<"$out"
  job_id=${job_id//\"/}
  job_path=${job_path//\"/}
  [[ $job_path == /org/xferd/Transfer1/job/* ]] || die "unexpected reply to Download: $out"
}

step "The Manager through busctl"
show busctl --user get-property "${manager[@]}" Version
show busctl --user introspect org.xferd.Transfer1 /org/xferd/Transfer1 org.xferd.Transfer1.Manager

step "Download with auto-complete off: nothing at the destination until Complete"
dest2=$workdir/downloads/file-busctl
download_no_autocomplete "$dest2"
show busctl --user call "${manager[@]}" ListJobs b false
wait_state "$job_path" transferred
note "State is 'transferred'. The directory holds only xferd's hidden temporary file:"
show ls -la "$workdir/downloads"
[[ ! -e "$dest2" ]] || die "$dest2 exists before Complete"
job_call "$job_path" ListFiles
show busctl --user get-property org.xferd.Transfer1 "$job_path" org.xferd.Transfer1.Job \
  State BytesTransferred BytesTotal FilesTransferred FilesTotal
job_call "$job_path" Complete
show ls -la "$workdir/downloads"
got_sha=$(sha256sum "$dest2" | awk '{print $1}')
[[ "$got_sha" == "$want_sha" ]] || die "SHA-256 mismatch: $got_sha != $want_sha"
printf '%s    SHA-256 matches: %s%s\n' "$green" "$got_sha" "$reset"
note "The job is final now: it left ListJobs; its object still answers with its State for a while."
show busctl --user call "${manager[@]}" ListJobs b false
show busctl --user get-property org.xferd.Transfer1 "$job_path" org.xferd.Transfer1.Job State

step "Cancel deletes every byte of a job, even a fully transferred one"
dest3=$workdir/downloads/file-cancelled
download_no_autocomplete "$dest3"
wait_state "$job_path" transferred
show ls -la "$workdir/downloads"
job_call "$job_path" Cancel
note "The reply came after the temporary file was unlinked:"
show ls -la "$workdir/downloads"
left=()
for f in "$workdir/downloads"/* "$workdir/downloads"/.*; do
  case "${f##*/}" in
    .|..|file-xferctl|file-busctl) ;;
    *) [[ -e "$f" || -L "$f" ]] && left+=("${f##*/}") ;;
  esac
done
[[ ${#left[@]} -eq 0 ]] || die "the cancelled job left files behind: ${left[*]}"
note "A cancelled job stays cancelled; a second Cancel fails with InvalidState"
note "(dbus-send shows the error name, busctl only its message):"
if show dbus-send --session --print-reply --dest=org.xferd.Transfer1 "$job_path" \
     org.xferd.Transfer1.Job.Cancel; then
  die "the second Cancel succeeded"
fi
show busctl --user get-property org.xferd.Transfer1 "$job_path" org.xferd.Transfer1.Job State

step "Done"
note "More: xferctl --user list | info JOB | monitor …, and every busctl call, in docs/busctl.md."
