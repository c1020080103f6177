#!/bin/sh
# Installs the build into a staging directory, then compiles and runs
# tests/install_app.c against the installed header and library found
# through pkg-config. Also checks the SONAME and that the library exports
# only ebm_ symbols.
#
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -eu
build_dir=$1
source_dir=$2
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

meson install -C "$build_dir" --no-rebuild --quiet --destdir "$stage"

pc_file=$(find "$stage" -name ebm.pc | head -n 1)
if [ -z "$pc_file" ]; then
    echo "install_test: ebm.pc was not installed" >&2
    exit 1
fi
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc_file")
export PKG_CONFIG_SYSROOT_DIR="$stage"
cflags=$(pkg-config --cflags ebm)
libs=$(pkg-config --libs ebm)
echo "install_test: pkg-config ebm: $cflags $libs"

library=$(find "$stage" -name 'libebm.so.0' | head -n 1)
if [ -z "$library" ]; then
    echo "install_test: libebm.so.0 was not installed" >&2
    exit 1
fi
soname=$(readelf -d "$library" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "libebm.so.0" ]; then
    echo "install_test: SONAME is '$soname', expected libebm.so.0" >&2
    exit 1
fi
exported=$(nm -D --defined-only "$library" | awk '$2 ~ /^[TDBR]$/ {print $3}')
stray=$(printf '%s\n' "$exported" | grep -v '^ebm_' || true)
if [ -n "$stray" ]; then
    echo "install_test: symbols exported without the ebm_ prefix:" >&2
    printf '%s\n' "$stray" >&2
    exit 1
fi
echo "install_test: $(printf '%s\n' "$exported" | wc -l) exported symbols," \
    "all ebm_*; SONAME $soname"

# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$stage/install_app" \
    "$source_dir/tests/install_app.c" $cflags $libs
LD_LIBRARY_PATH=$(dirname "$library") "$stage/install_app" "$stage/model.npz"
