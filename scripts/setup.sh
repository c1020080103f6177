#!/bin/sh
# Installs the Debian or Ubuntu packages that libebm needs to build, test
# and run its demo, when they are missing. Safe to run again: it installs
# nothing when everything is present, and it never prompts.
#
# Usage: scripts/setup.sh [--with-peers]
#   --with-peers  also install scikit-learn, PyTorch and Fashion-MNIST
#                 (python3-sklearn, python3-torch, dataset-fashion-mnist)
#                 for the peer comparison bench/peers.py.
set -eu

packages="gcc pkg-config meson ninja-build libopenblas-dev liblapacke-dev
check zlib1g-dev libpng-dev python3 python3-numpy"

if [ "${1:-}" = "--with-peers" ]; then
    packages="$packages python3-sklearn python3-torch dataset-fashion-mnist"
fi

missing=""
for package in $packages; do
    status=$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)
    case "$status" in
    *"install ok installed"*) ;;
    *) missing="$missing $package" ;;
    esac
done

if [ -z "$missing" ]; then
    echo "setup: all required packages are installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    # -n: fail instead of asking for a password.
    sudo="sudo -n"
else
    echo "setup: missing packages:$missing" >&2
    echo "setup: run this script as root or install sudo" >&2
    exit 1
fi

echo "setup: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have empty or stale package lists: update them and
# try once more if the first attempt fails.
# shellcheck disable=SC2086
if ! $sudo apt-get install -y -q --no-install-recommends $missing; then
    $sudo apt-get update -q
    # shellcheck disable=SC2086
    $sudo apt-get install -y -q --no-install-recommends $missing
fi
