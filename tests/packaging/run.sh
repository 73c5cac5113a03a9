#!/usr/bin/env bash
# The Debian packages, end to end, on this machine (as root; not part of `meson test`):
#
#   1. installs the build tools and the package's Build-Depends with apt (only what is missing)
#   2. builds the packages xferd, apt-transport-xferd and cockpit-xferd from a copy of the
#      source tree with packaging/debian/ as debian/ (DEB_BUILD_OPTIONS=nocheck
#      dpkg-buildpackage -us -uc -b -Pnocheck); the source tree itself is not touched
#   3. checks their file lists (dpkg-deb -c) and installs xferd and apt-transport-xferd
#      (apt-get install ./*.deb); checks the file list and dependencies of the Cockpit page's
#      package (cockpit-xferd_*.deb)
#   4. checks that the maintainer scripts enabled the system unit (and the user unit)
#   5. starts a real system bus (dbus-daemon --system; there is no systemd here, so activation
#      goes through dbus-daemon's launch helper), downloads a file served on 127.0.0.1 with
#      `xferctl --system download` through the installed, activated daemon and compares the
#      bytes; then runs apt-get update and apt-get download against a one-package repository
#      on 127.0.0.1 through the installed xferd+http method (as _apt, through the same bus)
#   6. checks `man -w` for the five man pages, and that the bash completion completes a job
#      id and a display name of a job made with `xferctl create`
#   7. runs `systemd-analyze verify` on the installed units and
#      `systemd-analyze security --offline=yes` on the system unit (exposure <= 2.5)
#   8. purges the packages and checks that their files, the state (/var/lib/xferd) and the
#      unit enablement are gone
#
# It leaves the machine as it found it: everything it starts (HTTP server, dbus-daemon,
# the activated xferd) is stopped, the package is purged also after a failure, and a
# /var/lib/xferd that existed before is put back. It refuses to run (exit 1) when an xferd or
# apt-transport-xferd package it did not install is there, or when a system bus it did not start is running,
# unless XFERD_PACKAGING_USE_SYSTEM_BUS=1 says to use that bus.
#
#   tests/packaging/run.sh [--keep-tmp]
#
# Exit status 0 when every check passed.
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$srcdir/scripts/common.sh"
keep_tmp=0
case "${1:-}" in
  --keep-tmp) keep_tmp=1 ;;
  "") ;;
  -h|--help) usage; exit 0 ;;
  *) echo "packaging: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

export DEBIAN_FRONTEND=noninteractive
export LC_ALL=C.UTF-8
unset DBUS_SYSTEM_BUS_ADDRESS DBUS_STARTER_ADDRESS DBUS_STARTER_BUS_TYPE

max_exposure=2.5
bus_socket=/run/dbus/system_bus_socket
bus_pidfile=/run/dbus/pid
marker_dir=/run/xferd-packaging-test     # what this script started or installed
state_dir=/var/lib/xferd
saved_state=/var/lib/xferd.saved-by-packaging-test   # an earlier /var/lib/xferd, during the run
checks=0

say() { echo "packaging: $*"; }
fail() { echo "packaging: FAILED: $*" >&2; exit 1; }
pass() { checks=$((checks + 1)); echo "packaging: ok $checks - $*"; }

[[ $(id -u) -eq 0 ]] || fail "run me as root (I install and purge a package and start a system bus)"

tmp=$(mktemp -d /tmp/xferd-packaging.XXXXXX)
chmod 0755 "$tmp"
http_pid=
bus_started=0
bus_pid=
package_installed=0
state_saved=0
xferd_pids=()

# ---------------------------------------------------------------------------- cleanup
# The pid that owns NAME on the system bus, empty if none (never activates).
bus_name_pid() {
  busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
    GetConnectionUnixProcessID s "$1" 2>/dev/null | awk '{ print $2 }'
}

bus_responds() {
  busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus GetId >/dev/null 2>&1
}

# Whether the bus on $bus_socket is one this script started (in this run or a killed one).
bus_is_ours() {
  local pid
  pid=$(bus_name_pid org.freedesktop.DBus || true)
  [[ -n $pid && -e $marker_dir/dbus.pid && $(cat "$marker_dir/dbus.pid") == "$pid" ]]
}

stop_xferd() {
  local pid
  pid=$(bus_name_pid org.xferd.Transfer1 || true)
  [[ -n $pid ]] && xferd_pids+=("$pid")
  for pid in "${xferd_pids[@]}"; do
    # Only a process that is still the xferd we saw (pids are reused).
    if [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == /usr/libexec/xferd* ]]; then
      stop_pid "$pid"
    fi
  done
  xferd_pids=()
}

cleanup() {
  local status=$?
  set +e
  stop_pid "$http_pid"
  stop_xferd
  if [[ $package_installed -eq 1 ]]; then
    for p in apt-transport-xferd xferd; do
      if dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null | grep -qv '^not-installed$'; then
        say "cleanup: purging the package $p"
        dpkg --purge "$p" >/dev/null 2>&1 || apt-get purge -y -q "$p" >/dev/null 2>&1
      fi
    done
  fi
  rm -f "$marker_dir/package"
  if [[ $bus_started -eq 1 ]]; then
    say "cleanup: stopping the system bus (pid $bus_pid)"
    stop_pid "$bus_pid"
    rm -f "$bus_socket" "$bus_pidfile" "$marker_dir/dbus.pid"
  fi
  if [[ $state_saved -eq 1 ]]; then
    rm -rf "$state_dir"
    mv "$saved_state" "$state_dir" && say "cleanup: put the earlier $state_dir back"
  fi
  rmdir "$marker_dir" 2>/dev/null
  if [[ $keep_tmp -eq 1 ]]; then
    say "kept $tmp"
  else
    rm -rf "$tmp"
  fi
  if [[ $status -eq 0 ]]; then
    say "$checks checks passed"
  else
    say "failed after $checks passed checks (exit status $status)"
  fi
  exit "$status"
}
trap_cleanup cleanup

mkdir -p "$marker_dir"

# ------------------------------------------------------------------ the machine's state
# A system bus this script did not start is someone's: do not run against it unless asked.
if [[ -S $bus_socket ]] && bus_responds && ! bus_is_ours && [[ ${XFERD_PACKAGING_USE_SYSTEM_BUS:-0} != 1 ]]; then
  fail "a system bus this test did not start runs on $bus_socket; set XFERD_PACKAGING_USE_SYSTEM_BUS=1 to test against it"
fi

# A package this script did not install is someone's: do not replace or purge it.
for p in apt-transport-xferd xferd; do
  if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true) =~ ^(installed|half-installed|unpacked|half-configured|triggers-awaited|triggers-pending|config-files)$ ]]; then
    if [[ -e $marker_dir/package ]]; then
      say "purging the $p package a previous run left behind"
      stop_xferd
      dpkg --purge "$p" >/dev/null
    else
      fail "a $p package is installed that this test did not install; purge it first (dpkg --purge $p)"
    fi
  fi
done
rm -f "$marker_dir/package"
# A run that was killed left the earlier state aside: put it back.
if [[ -e $saved_state ]]; then
  [[ ! -e $state_dir ]] || fail "both $state_dir and $saved_state (from a killed run) exist; keep the right one"
  mv "$saved_state" "$state_dir"
  say "put back the $state_dir that a killed run had moved aside"
fi

# ---------------------------------------------------------------------- 1. build tools
need=(dpkg-dev debhelper fakeroot build-essential scdoc man-db dbus dbus-daemon dbus-bin systemd python3 git
      apt-utils)
missing=()
for p in "${need[@]}"; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true) == installed ]] || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  say "installing: ${missing[*]}"
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null
fi

# --------------------------------------------------------------- 2. build the package
src=$tmp/xferd
mkdir -p "$src"
had_debian=0
[[ -e $srcdir/debian ]] && had_debian=1
if git -C "$srcdir" rev-parse --git-dir >/dev/null 2>&1; then
  # What git tracks plus new files it does not ignore: no build directories, no debian/.
  (cd "$srcdir" && git ls-files -z -c -o --exclude-standard) |
    (cd "$srcdir" && tar --null -T - -cf -) | tar -xf - -C "$src"
else
  tar -C "$srcdir" --exclude='./build*' --exclude=./.git --exclude=./debian -cf - . | tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -r "$src/packaging/debian" "$src/debian"

# The Build-Depends of the nocheck profile, from the package's own control file.
if ! (cd "$src" && dpkg-checkbuilddeps -Pnocheck) >/dev/null 2>&1; then
  say "installing the Build-Depends"
  apt-get update -q >/dev/null
  apt-get build-dep -y -q --no-install-recommends -Pnocheck "$src" </dev/null >/dev/null
fi

say "building the package in $src"
if ! (cd "$src" && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b -Pnocheck) >"$tmp/build.log" 2>&1; then
  tail -n 60 "$tmp/build.log" >&2
  fail "dpkg-buildpackage failed (log above)"
fi
debs=("$tmp"/xferd_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || fail "expected one xferd_*.deb, found: ${debs[*]}"
deb=${debs[0]}
debs=("$tmp"/apt-transport-xferd_*.deb)
[[ ${#debs[@]} -eq 1 && -f ${debs[0]} ]] || fail "expected one apt-transport-xferd_*.deb, found: ${debs[*]}"
method_deb=${debs[0]}
pass "dpkg-buildpackage built $(basename "$deb") and $(basename "$method_deb")"
[[ $had_debian -eq 1 || ! -e $srcdir/debian ]] || fail "the source tree has a debian/ directory now"

# --------------------------------------------------------------------- 3. file list
dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/files"
expected=(
  /usr/libexec/xferd
  /usr/bin/xferctl
  /lib/systemd/system/xferd.service
  /usr/lib/systemd/user/xferd.service
  /usr/share/dbus-1/system-services/org.xferd.Transfer1.service
  /usr/share/dbus-1/services/org.xferd.Transfer1.service
  /usr/share/dbus-1/system.d/org.xferd.Transfer1.conf
  /usr/share/dbus-1/interfaces/org.xferd.Transfer1.xml
  /etc/xferd/xferd.conf.example
  /usr/share/man/man8/xferd.8.gz
  /usr/share/man/man1/xferctl.1.gz
  /usr/share/man/man5/xferd.conf.5.gz
  /usr/share/man/man5/org.xferd.Transfer1.5.gz
  /usr/share/bash-completion/completions/xferctl
  /usr/share/doc/xferd/copyright
)
for f in "${expected[@]}"; do
  grep -qx -- "$f" "$tmp/files" || { cat "$tmp/files" >&2; fail "the package lacks $f"; }
done
pass "dpkg-deb -c lists the daemon, xferctl, units, activation and policy files, man pages, completion and config example"
dpkg-deb -f "$deb" Depends | grep -qw dbus || fail "the package does not depend on dbus"
for f in /usr/lib/apt/methods/xferd+http /usr/share/man/man1/apt-transport-xferd.1.gz; do
  ! grep -qx -- "$f" "$tmp/files" || fail "the package xferd ships $f, which belongs to apt-transport-xferd"
done
dpkg-deb -c "$method_deb" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/method-files"
for f in /usr/lib/apt/methods/xferd+http /usr/lib/apt/methods/xferd+https \
         /usr/share/man/man1/apt-transport-xferd.1.gz /usr/share/doc/apt-transport-xferd/copyright; do
  grep -qx -- "$f" "$tmp/method-files" || { cat "$tmp/method-files" >&2; fail "apt-transport-xferd lacks $f"; }
done
dpkg-deb -c "$method_deb" | grep -q '/usr/lib/apt/methods/xferd+https -> xferd+http$' ||
  fail "xferd+https is not a symbolic link to xferd+http"
dpkg-deb -f "$method_deb" Depends | grep -q 'xferd (= ' || fail "apt-transport-xferd does not depend on its xferd"
pass "apt-transport-xferd ships the methods in /usr/lib/apt/methods and apt-transport-xferd(1)"

# The Cockpit page: a package of its own (Architecture: all), beside xferd.
cockpit_debs=("$tmp"/cockpit-xferd_*.deb)
[[ ${#cockpit_debs[@]} -eq 1 && -f ${cockpit_debs[0]} ]] || fail "expected one cockpit-xferd_*.deb, found: ${cockpit_debs[*]}"
dpkg-deb -c "${cockpit_debs[0]}" | awk '{ print $6 }' | sed 's|^\./|/|' >"$tmp/cockpit-files"
for f in manifest.json index.html transfers.js jobs.js dialogs.js format.js transfers.css; do
  grep -qx -- "/usr/share/cockpit/xferd/$f" "$tmp/cockpit-files" || { cat "$tmp/cockpit-files" >&2; fail "cockpit-xferd lacks /usr/share/cockpit/xferd/$f"; }
done
cockpit_depends=$(dpkg-deb -f "${cockpit_debs[0]}" Depends)
for d in cockpit-bridge cockpit-system xferd; do
  grep -qE "(^|, )$d( |,|$)" <<<"$cockpit_depends" || fail "cockpit-xferd does not depend on $d (Depends: $cockpit_depends)"
done
pass "cockpit-xferd ships the page in /usr/share/cockpit/xferd and depends on cockpit-bridge, cockpit-system and xferd"

# -------------------------------------------------------------------------- install
if [[ -e $state_dir ]]; then
  say "moving the existing $state_dir aside for the test"
  mv "$state_dir" "$saved_state"
  state_saved=1
fi
: >"$marker_dir/package"
package_installed=1
# --path-include: container images often tell dpkg to drop man pages (path-exclude).
if ! apt-get install -y -q --no-install-recommends \
       -o 'DPkg::Options::=--path-include=/usr/share/man/*' "$deb" "$method_deb" </dev/null >"$tmp/install.log" 2>&1; then
  cat "$tmp/install.log" >&2
  fail "apt-get install $deb $method_deb failed"
fi
[[ $(dpkg-query -W -f='${db:Status-Status}' xferd) == installed ]] || fail "xferd is not installed after apt-get install"
[[ $(dpkg-query -W -f='${db:Status-Status}' apt-transport-xferd) == installed ]] ||
  fail "apt-transport-xferd is not installed after apt-get install"
pass "apt-get install ./$(basename "$deb") ./$(basename "$method_deb")"

# ------------------------------------------------------------- 4. maintainer scripts
# dh_installsystemd enables the system unit (deb-systemd-helper works without systemd running),
# dh_installsystemduser the user unit for every user.
[[ -L /etc/systemd/system/multi-user.target.wants/xferd.service ]] ||
  fail "postinst did not enable xferd.service (no multi-user.target.wants link)"
[[ $(readlink -f /etc/systemd/system/multi-user.target.wants/xferd.service) == /lib/systemd/system/xferd.service ||
   $(readlink -f /etc/systemd/system/multi-user.target.wants/xferd.service) == /usr/lib/systemd/system/xferd.service ]] ||
  fail "multi-user.target.wants/xferd.service points elsewhere"
pass "the system unit is enabled (multi-user.target.wants/xferd.service)"
if [[ -L /etc/systemd/user/default.target.wants/xferd.service ]]; then
  pass "the user unit is enabled globally (default.target.wants/xferd.service)"
fi

# ----------------------------------------------------------------- 5. the system bus
if [[ -S $bus_socket ]] && bus_responds; then
  pid=$(bus_name_pid org.freedesktop.DBus || true)
  if bus_is_ours; then
    say "using the system bus a previous run started (pid $pid); stopping it at the end"
    bus_started=1
    bus_pid=$pid
    stop_xferd    # what that run activated
  elif [[ ${XFERD_PACKAGING_USE_SYSTEM_BUS:-0} == 1 ]]; then
    say "using the running system bus (XFERD_PACKAGING_USE_SYSTEM_BUS=1)"
  else
    fail "a system bus this test did not start runs on $bus_socket; set XFERD_PACKAGING_USE_SYSTEM_BUS=1 to test against it"
  fi
else
  # A socket or pid file nobody serves is left over from a bus that died.
  if [[ -e $bus_socket ]]; then
    say "removing the stale $bus_socket"
    rm -f "$bus_socket"
  fi
  if [[ -e $bus_pidfile ]]; then
    old=$(cat "$bus_pidfile" 2>/dev/null || true)
    if [[ -n $old ]] && [[ $(readlink "/proc/$old/exe" 2>/dev/null) == */dbus-daemon ]]; then
      fail "a dbus-daemon (pid $old) owns $bus_pidfile but does not answer on $bus_socket"
    fi
    rm -f "$bus_pidfile"
  fi
  mkdir -p /run/dbus
  bus_pid=$(dbus-daemon --system --fork --print-pid)
  bus_started=1
  echo "$bus_pid" >"$marker_dir/dbus.pid"
  for ((i = 0; i < 100; i++)); do
    bus_responds && break
    sleep 0.1
  done
  bus_responds || fail "dbus-daemon --system (pid $bus_pid) does not answer on $bus_socket"
  say "started dbus-daemon --system (pid $bus_pid)"
fi

# The policy must be loaded (dbus-daemon reads system.d at start and watches it).
busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
  ListActivatableNames | grep -q '"org.xferd.Transfer1"' ||
  fail "org.xferd.Transfer1 is not activatable on the system bus"
pass "org.xferd.Transfer1 is activatable on the system bus"

# ------------------------------------------------------------ a file on 127.0.0.1
mkdir -p "$tmp/www" "$tmp/dl"
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom >"$tmp/www/payload.bin"
python3 - "$tmp/www" "$tmp/http.port" "$$" <<'PY' &
# A static file server on 127.0.0.1 (a free port, written to argv[2]); it ends by itself
# when this script (pid argv[3]) is gone, even after a SIGKILL.
import functools, http.server, os, sys, threading, time
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=sys.argv[1]))
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
def watch_parent(pid):
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            os._exit(0)
        time.sleep(0.5)
threading.Thread(target=watch_parent, args=(int(sys.argv[3]),), daemon=True).start()
server.serve_forever()
PY
http_pid=$!
for ((i = 0; i < 100; i++)); do
  [[ -s $tmp/http.port ]] && break
  sleep 0.1
done
[[ -s $tmp/http.port ]] || fail "the HTTP server did not start"
url="http://127.0.0.1:$(cat "$tmp/http.port")/payload.bin"

# ------------------------------------------------------- download through activation
[[ -z $(bus_name_pid org.xferd.Transfer1) ]] || fail "org.xferd.Transfer1 has an owner before the first call"
say "xferctl --system download $url"
if ! timeout 120 xferctl --system --no-progress download "$url" "$tmp/dl/payload.bin" >"$tmp/download.log" 2>&1; then
  cat "$tmp/download.log" >&2
  fail "xferctl --system download failed"
fi
cmp -s "$tmp/www/payload.bin" "$tmp/dl/payload.bin" || fail "the downloaded file differs from the served one"
pass "xferctl --system download through the activated daemon: $(stat -c %s "$tmp/dl/payload.bin") bytes, identical"

pid=$(bus_name_pid org.xferd.Transfer1 || true)
[[ -n $pid ]] || fail "no xferd owns org.xferd.Transfer1 after the download"
xferd_pids+=("$pid")
exe=$(readlink "/proc/$pid/exe" || true)
[[ $exe == /usr/libexec/xferd ]] || fail "org.xferd.Transfer1 is served by $exe, not the package's /usr/libexec/xferd"
tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- '--system' || fail "the activated xferd does not run with --system"
pass "the bus activated /usr/libexec/xferd --system (pid $pid) through the launch helper"
[[ -f $state_dir/xferd.db ]] || fail "the daemon has no job store in $state_dir"
[[ $(stat -c %a "$state_dir") == 700 ]] || fail "$state_dir is not mode 0700"
pass "the job store is in $state_dir (mode 0700)"

# ------------------------------------------------- apt through the installed method
# A one-package repository under the same server; apt-get runs as root with a root of its
# own (the machine's apt configuration and lists are not touched) and apt's own methods
# directory, where the package put xferd+http. The method runs as _apt.
repo=$tmp/www/debian
mkdir -p "$repo/pool" "$repo/dists/plain/main/binary-all" "$tmp/pkg/DEBIAN" "$tmp/pkg/usr/share/xferd-packaging-test"
printf 'Package: xferd-packaging-test\nVersion: 1.0\nArchitecture: all\nMaintainer: xferd <maintainers@xferd.invalid>\nDescription: test package\n' \
  >"$tmp/pkg/DEBIAN/control"
head -c 200000 /dev/urandom >"$tmp/pkg/usr/share/xferd-packaging-test/payload"
dpkg-deb --root-owner-group -Zgzip -b "$tmp/pkg" "$repo/pool/xferd-packaging-test_1.0_all.deb" >/dev/null
(cd "$repo" && apt-ftparchive packages pool >dists/plain/main/binary-all/Packages)
(cd "$repo" && apt-ftparchive -o APT::FTPArchive::Release::Suite=plain -o APT::FTPArchive::Release::Architectures=all \
   -o APT::FTPArchive::Release::Components=main release dists/plain >"$tmp/Release")
mv "$tmp/Release" "$repo/dists/plain/Release"
aptroot=$tmp/apt
mkdir -p "$aptroot"/{etc/apt.conf.d,etc/preferences.d,etc/sources.list.d,etc/trusted.gpg.d,state/lists,cache/archives,log,dl}
: >"$aptroot/state/status"
chown _apt "$aptroot/dl"
echo "deb [trusted=yes] xferd+http://127.0.0.1:$(cat "$tmp/http.port")/debian plain main" >"$aptroot/etc/sources.list"
cat >"$aptroot/etc/apt.conf" <<APTCONF
Dir::State "$aptroot/state";
Dir::State::status "$aptroot/state/status";
Dir::Cache "$aptroot/cache";
Dir::Etc "$aptroot/etc";
Dir::Etc::Parts "apt.conf.d";
Dir::Etc::SourceList "sources.list";
Dir::Etc::SourceParts "sources.list.d";
Dir::Etc::Trusted "trusted.gpg";
Dir::Etc::TrustedParts "trusted.gpg.d";
Dir::Log "$aptroot/log";
Acquire::Languages "none";
APT::Sandbox::User "_apt";
APTCONF
apt_in_root() { (cd "$aptroot/dl" && APT_CONFIG=$aptroot/etc/apt.conf timeout 120 apt-get -q "$@"); }
apt_in_root update >"$tmp/apt-update.log" 2>&1 || { cat "$tmp/apt-update.log" >&2; fail "apt-get update through xferd+http failed"; }
grep -q '^Get:.*xferd+http://127.0.0.1.* plain/main all Packages' "$tmp/apt-update.log" ||
  { cat "$tmp/apt-update.log" >&2; fail "apt-get update did not fetch Packages through xferd+http"; }
apt_in_root download xferd-packaging-test >"$tmp/apt-download.log" 2>&1 ||
  { cat "$tmp/apt-download.log" >&2; fail "apt-get download through xferd+http failed"; }
cmp -s "$repo/pool/xferd-packaging-test_1.0_all.deb" "$aptroot/dl/xferd-packaging-test_1.0_all.deb" ||
  fail "the package apt-get downloaded through xferd+http differs from the served one"
[[ $(ls -A "$aptroot/dl") == xferd-packaging-test_1.0_all.deb ]] ||
  fail "more than the package in the download directory: $(ls -A "$aptroot/dl")"
left=$(xferctl --system list --all)
[[ -z $left || $left == *"No jobs"* ]] || fail "xferd has jobs left after apt-get: $left"
pass "apt-get update and apt-get download through the installed xferd+http (no temporary file, no job left)"

# ------------------------------------------------------------------- 6. man pages
for page in "1 xferctl" "8 xferd" "5 xferd.conf" "5 org.xferd.Transfer1" "1 apt-transport-xferd"; do
  # shellcheck disable=SC2086
  where=$(man -w $page 2>/dev/null) || fail "man -w $page finds no page"
  [[ $where == /usr/share/man/* ]] || fail "man -w $page found $where"
done
pass "man -w finds xferctl(1), xferd(8), xferd.conf(5), org.xferd.Transfer1(5) and apt-transport-xferd(1)"
man -P cat xferctl 2>/dev/null | grep -q 'xferctl - control xferd' || fail "man xferctl does not show the page"
pass "man xferctl renders the page"

# ------------------------------------------------------------------ completion
name="packaging test $$"
job=$(xferctl --system create "$name") || fail "xferctl --system create failed"
[[ $job =~ ^[0-9a-f]{32}$ ]] || fail "xferctl create printed '$job', not a job id"
complete_words() {   # WORD...: the candidates the completion offers for the last word
  bash -c 'source /usr/share/bash-completion/completions/xferctl
           COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
           COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
           _xferctl; printf "%s\n" "${COMPREPLY[@]}"' xferctl-completion "$@"
}
complete_words xferctl --system cancel "${job:0:6}" | grep -qx "$job" ||
  fail "the completion does not complete the job id prefix ${job:0:6} to $job"
complete_words xferctl --system info "" | grep -qx "$job" ||
  fail "the completion does not offer the job id $job"
printf -v quoted '%q' "$name"
complete_words xferctl --system info "packaging\\ t" | grep -qxF -- "$quoted" ||
  fail "the completion does not complete the display name '$name'"
complete_words xferctl --system set "$job" "Pri" | grep -qx Priority ||
  fail "the completion does not complete property names"
complete_words xferctl --system res | grep -qx resume || fail "the completion does not complete commands"
pass "bash completion completes the job id $job, its display name, property names and commands"
xferctl --system cancel "$job" >/dev/null || fail "xferctl cancel $job failed"

# ------------------------------------------------------------- 7. systemd-analyze
verify() {    # the output must be empty: warnings count
  local out
  out=$(systemd-analyze "$@" 2>&1) || { echo "$out" >&2; return 1; }
  [[ -z $out ]] || { echo "$out" >&2; return 1; }
}
verify verify /lib/systemd/system/xferd.service ||
  fail "systemd-analyze verify /lib/systemd/system/xferd.service"
# The user unit has the same name as the system unit; verify it on its own.
verify verify /usr/lib/systemd/user/xferd.service ||
  fail "systemd-analyze verify /usr/lib/systemd/user/xferd.service"
pass "systemd-analyze verify is clean for the system and the user unit"

security=$(systemd-analyze security --offline=yes /lib/systemd/system/xferd.service 2>&1) || {
  echo "$security" >&2
  fail "systemd-analyze security --offline=yes failed"
}
exposure=$(sed -n 's/.*Overall exposure level for xferd\.service: \([0-9.]*\).*/\1/p' <<<"$security")
[[ -n $exposure ]] || { echo "$security" >&2; fail "no 'Overall exposure level' line"; }
awk -v e="$exposure" -v m="$max_exposure" 'BEGIN { exit !(e <= m) }' ||
  fail "exposure level $exposure is above $max_exposure"
pass "systemd-analyze security --offline=yes: exposure $exposure (at most $max_exposure)"

# ------------------------------------------------------------------------- 8. purge
stop_xferd
dpkg --purge apt-transport-xferd xferd >"$tmp/purge.log" 2>&1 ||
  { cat "$tmp/purge.log" >&2; fail "dpkg --purge apt-transport-xferd xferd failed"; }
rm -f "$marker_dir/package"
for p in xferd apt-transport-xferd; do
  [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || echo not-installed) == not-installed ]] ||
    fail "$p is still known to dpkg after the purge"
done
[[ ! -e /usr/lib/apt/methods/xferd+http && ! -L /usr/lib/apt/methods/xferd+https ]] ||
  fail "the apt methods remain after the purge"
[[ ! -e $state_dir ]] || fail "$state_dir is still there after the purge"
[[ ! -e /usr/libexec/xferd && ! -e /etc/xferd/xferd.conf.example ]] || fail "files of the package remain after the purge"
[[ ! -e /etc/systemd/system/multi-user.target.wants/xferd.service ]] || fail "the unit is still enabled after the purge"
[[ ! -e /etc/systemd/user/default.target.wants/xferd.service ]] || fail "the user unit is still enabled after the purge"
pass "dpkg --purge removed the packages, the apt methods, $state_dir and the unit enablement"
