#!/usr/bin/env bash
# Installs what xferd needs to build, test, run the demo and run the benchmark on
# Debian 12 (bookworm), from Debian's own packages only; and, with npm, the tus server
# of the upload tests (`npm ci` in tests/tus).
#
#   scripts/setup-deps.sh            install what is missing (apt-get update first)
#   scripts/setup-deps.sh --force    run apt-get update and install even if all is there
#   scripts/setup-deps.sh --list     print the package names and exit
#
# Not run as root: nothing is installed; the missing packages and the command that
# would install them are printed, and the script exits 0 so a build can still be tried.
set -euo pipefail

packages=(
  # build
  meson ninja-build pkg-config gcc libc6-dev
  libsystemd-dev libcurl4-openssl-dev libsqlite3-dev
  # OpenSSL's libcrypto: the digests of downloads (EVP), and the apt method (apt/) hashes with it
  libssl-dev
  # test suite: GLib/GIO test framework, libsoup HTTP server, JSON checks, a private bus, busctl
  libglib2.0-dev libglib2.0-bin libsoup-3.0-dev libjson-glib-dev
  dbus-daemon dbus-bin systemd
  # test-apt: the real apt-get against a repository made with dpkg-deb and apt-ftparchive,
  # signed with gpg; signed checksum lists are checked with gpgv (as apt does), and the
  # integrity tests make a key and sign lists with gpg (gnupg brings the gpg-agent it needs)
  apt apt-utils dpkg-dev gpg gpgv gnupg
  # man pages (scdoc) and the bash completion's install directory (bash-completion.pc)
  scdoc bash-completion
  # sanitizer builds (gcc's runtimes come with gcc; these are for clang)
  clang libclang-rt-14-dev
  # test-privileges: an ext2 image with blocks reserved for root (mke2fs), loop-mounted (mount)
  e2fsprogs mount
  # test peers: polkit's and NetworkManager's mocks (run with Debian's /usr/bin/python3)
  python3-dbusmock
  # the Cockpit page's browser test (tests/test-cockpit.py): a real Cockpit, headless
  # chromium driven by selenium through chromedriver; openssl hashes the test passwords
  cockpit-ws cockpit-bridge cockpit-system chromium chromium-driver python3-selenium openssl
  # demo and benchmark peers; the benchmark's rows on dbus-broker (the bus of Fedora, Arch and
  # others) beside dbus-daemon's (Debian's default, which stays the machine's bus: see below)
  curl aria2 nginx-light ca-certificates coreutils strace dbus-broker
  # the fleet tests (tests/test-fleet.c) and benchmark: caches and proxies the test starts
  # itself (squid with its basic_ncsa_auth helper, Varnish; openssl above makes its CA), and
  # GLib's TLS backend for the test's https server
  squid varnish glib-networking
)

# The caches are peers of the tests, which run instances of their own on free ports: the
# services the packages enable must not run (nor hold 3128 and 6081). Only for what this run
# installed, so a machine whose own squid or Varnish was there before keeps it.
# Debian's dbus-broker enables itself as the system and user bus (dbus.service) from the next
# boot on; the benchmark runs a private one of its own, so the machine keeps dbus-daemon.
disable_peer_services() {
  local pkg svc services=()
  for pkg in "$@"; do
    case "$pkg" in
      squid) services+=(squid) ;;
      varnish) services+=(varnish varnishncsa) ;;
      dbus-broker)
        echo "setup-deps: the benchmark runs its own dbus-broker: dbus-daemon stays the machine's bus"
        systemctl disable dbus-broker.service >/dev/null 2>&1 || true
        systemctl --global disable dbus-broker.service >/dev/null 2>&1 || true ;;
    esac
  done
  for svc in "${services[@]}"; do
    echo "setup-deps: the tests run their own $svc: stopping and disabling the $svc service"
    if [[ -d /run/systemd/system ]]; then
      systemctl disable --now "$svc.service" >/dev/null 2>&1 || true
    else
      # No systemd running (a container): the init script, if the installation started it.
      if [[ -x /etc/init.d/$svc ]] && "/etc/init.d/$svc" status >/dev/null 2>&1; then
        "/etc/init.d/$svc" stop >/dev/null 2>&1 || true
      fi
      if command -v systemctl >/dev/null; then
        systemctl disable "$svc.service" >/dev/null 2>&1 || true
      fi
      update-rc.d "$svc" disable >/dev/null 2>&1 || true
    fi
  done
}

# The tus reference server of the upload tests comes from npm (@tus/server 1.x, which runs on
# bookworm's node 18 and on newer ones): `npm ci` in tests/tus installs exactly what its
# package-lock.json pins, unless that is installed already. node and npm come from Debian
# (nodejs, npm) when the machine has none. Without them the upload tests skip (with CI=true
# they fail); a failed `npm ci` only warns, like a missing package.
install_tus_server() {
  local dir
  dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/tests/tus"
  if [[ $(id -u) -eq 0 ]] && ! { command -v npm && command -v node; } >/dev/null 2>&1; then
    echo "setup-deps: installing Debian's nodejs and npm (for the tus server of the upload tests)"
    { apt-get update -q && apt-get install -y -q --no-install-recommends nodejs npm; } </dev/null || true
  fi
  if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
    echo "setup-deps: node/npm not found: the tus server for the upload tests is not installed" \
         "(as root: apt-get install nodejs npm, then run this again)." >&2
    return 0
  fi
  if (cd "$dir" && node -e '
      const fs = require("fs");
      const packages = (f) => JSON.parse(fs.readFileSync(f, "utf8")).packages;
      const locked = packages("package-lock.json");
      delete locked[""];
      process.exit(JSON.stringify(locked) === JSON.stringify(packages("node_modules/.package-lock.json")) ? 0 : 1);
    ' 2>/dev/null); then
    echo "setup-deps: the tus server for the upload tests is installed (tests/tus)."
    return 0
  fi
  echo "setup-deps: npm ci in tests/tus (the tus server for the upload tests)"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error </dev/null); then
    echo "setup-deps: npm ci in $dir failed: the upload tests will skip (with CI=true: fail)." >&2
  fi
}

force=0
case "${1:-}" in
  --list) printf '%s\n' "${packages[@]}"; exit 0 ;;
  --force) force=1 ;;
  "") ;;
  -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
  *) echo "setup-deps: unknown argument '$1' (try --help)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  if [[ "$status" != installed ]]; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 && $force -eq 0 ]]; then
  echo "setup-deps: all ${#packages[@]} packages are installed."
  install_tus_server
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-deps: not root, so nothing is installed." >&2
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "setup-deps: missing: ${missing[*]}" >&2
    echo "setup-deps: as root run: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  fi
  install_tus_server
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [[ $force -eq 1 ]]; then
  missing=("${packages[@]}")
fi
echo "setup-deps: installing: ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
disable_peer_services "${missing[@]}"
install_tus_server
echo "setup-deps: done."
