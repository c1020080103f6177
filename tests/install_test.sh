#!/bin/sh
# Installs the build into a staging directory, then compiles and runs
# tests/install_app.c against the installed header and library found
# through pkg-config. Also checks the SONAME, and that the library exports
# exactly the functions that the installed ebm.h declares with EBM_API:
# no internal function, no data symbol and no missing API function.
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
header=$(find "$stage" -name ebm.h | head -n 1)
if [ -z "$header" ]; then
    echo "install_test: ebm.h was not installed" >&2
    exit 1
fi

# The API: the name before "(" in each declaration that starts a line with
# EBM_API, joining the following lines until one contains "(".
cat >"$stage/api.sed" <<'EOF'
/^EBM_API/{
:join
/(/!{
N
b join
}
s/\n/ /g
s/^EBM_API[^(]*[^A-Za-z0-9_(]\([A-Za-z_][A-Za-z0-9_]*\)[[:space:]]*(.*/\1/p
}
EOF
sed -n -f "$stage/api.sed" "$header" | LC_ALL=C sort -u >"$stage/declared.txt"
declared_count=$(grep -c . "$stage/declared.txt" || true)
if [ "$declared_count" -eq 0 ]; then
    echo "install_test: found no EBM_API declarations in $header" >&2
    exit 1
fi

# Every defined dynamic symbol, whatever its type: the header declares
# functions only, so an exported data symbol is a difference too.
nm -D --defined-only "$library" | awk 'NF >= 3 {print $3}' |
    LC_ALL=C sort -u >"$stage/exported.txt"
exported_count=$(grep -c . "$stage/exported.txt" || true)
echo "install_test: $exported_count symbols exported by libebm.so.0," \
    "$declared_count functions declared with EBM_API in ebm.h"

not_declared=$(LC_ALL=C comm -13 "$stage/declared.txt" "$stage/exported.txt")
not_exported=$(LC_ALL=C comm -23 "$stage/declared.txt" "$stage/exported.txt")
if [ -n "$not_declared" ]; then
    echo "install_test: exported but not declared with EBM_API in ebm.h:" >&2
    printf '%s\n' "$not_declared" | sed 's/^/  /' >&2
fi
if [ -n "$not_exported" ]; then
    echo "install_test: declared with EBM_API in ebm.h but not exported:" >&2
    printf '%s\n' "$not_exported" | sed 's/^/  /' >&2
fi
if [ -n "$not_declared" ] || [ -n "$not_exported" ]; then
    exit 1
fi
echo "install_test: exported symbols match the EBM_API functions; SONAME" \
    "$soname"

# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$stage/install_app" \
    "$source_dir/tests/install_app.c" $cflags $libs
LD_LIBRARY_PATH=$(dirname "$library") "$stage/install_app" "$stage/model.npz"
