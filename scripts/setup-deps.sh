#!/usr/bin/env bash
# Installs what xferd needs to build, test, run the demo and run the benchmark on
# Debian 12 (bookworm), from Debian's own packages only.
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
  # test suite: GLib/GIO test framework, libsoup HTTP server, a private bus, busctl
  libglib2.0-dev libglib2.0-bin libsoup-3.0-dev
  dbus-daemon dbus-bin systemd
  # sanitizer builds (gcc's runtimes come with gcc; these are for clang)
  clang libclang-rt-14-dev
  # demo and benchmark peers
  curl aria2 nginx-light ca-certificates coreutils
)

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
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "setup-deps: not root, so nothing is installed." >&2
  if [[ ${#missing[@]} -gt 0 ]]; then
    echo "setup-deps: missing: ${missing[*]}" >&2
    echo "setup-deps: as root run: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
  fi
  exit 0
fi

export DEBIAN_FRONTEND=noninteractive
if [[ $force -eq 1 ]]; then
  missing=("${packages[@]}")
fi
echo "setup-deps: installing: ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
echo "setup-deps: done."
