#!/usr/bin/env bash
# Builds xferd and runs its test suite.
#
#   scripts/test.sh [--builddir DIR] [--skip-deps] [--test-arg ARG]... [MESON_SETUP_ARG]...
#
#   --builddir DIR    build directory (default: build), relative to the source tree
#   --skip-deps       do not run scripts/setup-deps.sh first
#   --test-arg ARG    one extra argument for `meson test` (repeat for several), e.g.
#                     --test-arg --timeout-multiplier --test-arg 3
#   MESON_SETUP_ARG   passed to `meson setup`, e.g. -Db_sanitize=address,undefined
#
# An existing build directory is reconfigured with the given arguments. Exits with the
# status of `meson test`.
set -euo pipefail

srcdir=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$srcdir/scripts/common.sh"
builddir=build
skip_deps=0
test_args=()
setup_args=()

while [[ $# -gt 0 ]]; do
  case "$1" in
    --builddir) need_value test.sh "$@"; builddir=$2; shift 2 ;;
    --builddir=*) builddir=${1#--builddir=}; shift ;;
    --skip-deps) skip_deps=1; shift ;;
    --test-arg) need_value test.sh "$@"; test_args+=("$2"); shift 2 ;;
    --test-arg=*) test_args+=("${1#--test-arg=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) setup_args+=("$1"); shift ;;
  esac
done

cd "$srcdir"

if [[ $skip_deps -eq 0 ]]; then
  scripts/setup-deps.sh
fi

# test-multiuser and test-bus-resources act as two unprivileged users on a system-type bus.
if [[ $(id -u) -eq 0 ]]; then
  for user in xferd-test-a xferd-test-b; do
    id -u "$user" >/dev/null 2>&1 || useradd -m "$user"
  done
  # test-multiuser's directory that only a group may write: xferd-test-a is in it, b is not.
  getent group xferd-test-g >/dev/null || groupadd xferd-test-g
  id -nG xferd-test-a | grep -qw xferd-test-g || usermod -aG xferd-test-g xferd-test-a
else
  echo "test.sh: not root: the multi-user tests skip (they need root and the users xferd-test-a, xferd-test-b)" >&2
fi

if [[ -f "$builddir/meson-private/coredata.dat" ]]; then
  echo "test.sh: reconfiguring $builddir"
  meson setup --reconfigure "$builddir" "${setup_args[@]}"
else
  echo "test.sh: configuring $builddir"
  meson setup "$builddir" "${setup_args[@]}"
fi

meson compile -C "$builddir"

echo "test.sh: running the test suite in $builddir"
meson test -C "$builddir" --print-errorlogs "${test_args[@]}"
