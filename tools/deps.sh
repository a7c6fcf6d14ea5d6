#!/bin/sh
# Install the Debian packages relstore needs to build, test and benchmark.
#
#     tools/deps.sh          what building, testing and the quick benchmark need
#     tools/deps.sh bench    that, and gnuplot for the full benchmark's plot
#     tools/deps.sh fuzz     that, and clang with its libFuzzer runtime
#     tools/deps.sh pg       that, and the PostgreSQL server (make test-long loads the SQL
#                            export into one, tests/pg_export.sh)
#
# Does nothing when every package is already installed. Uses apt-get only for
# what is missing, running `apt-get update` once first. When not root and
# something is missing, prints the command to run and exits 1.
set -eu

pkgs="build-essential pkg-config meson ninja-build
      liblmdb-dev libuv1-dev libxxhash-dev libcriterion-dev
      libsqlite3-dev python3-dev python3-venv python3-pip python3-setuptools"
[ "${1:-}" = bench ] && pkgs="$pkgs gnuplot-nox libjudy-dev"
[ "${1:-}" = fuzz ] && pkgs="$pkgs clang libclang-rt-14-dev"
[ "${1:-}" = pg ] && pkgs="$pkgs postgresql"

missing=""
for p in $pkgs; do
    status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$status" in
    *"ok installed"*) ;;
    *) missing="$missing $p" ;;
    esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "relstore needs these Debian packages:$missing" >&2
    echo "install them with: sudo apt-get install$missing" >&2
    exit 1
fi

echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086 # the list is split on purpose
apt-get install -y -qq --no-install-recommends $missing
