#!/bin/sh
# Compiles and runs the C program of README.md's "Using the library"
# section against the library in the build tree, so that the example in
# the README keeps compiling and working.
#
# Usage: readme_example.sh SOURCE_DIR LIBRARY_DIR
set -eu
source_dir=$1
library_dir=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The first ```c block after the "## Using the library" heading.
awk '
    /^## Using the library/ { in_section = 1 }
    in_section && /^```c$/ { in_code = 1; next }
    in_code && /^```$/ { exit }
    in_code { print }
' "$source_dir/README.md" >"$work/app.c"
if [ ! -s "$work/app.c" ]; then
    echo "readme_example: no C block found in README.md" >&2
    exit 1
fi

cc -std=c11 -Wall -Wextra -Werror -I "$source_dir/include" \
    -o "$work/app" "$work/app.c" -L "$library_dir" -lebm
cd "$work"
LD_LIBRARY_PATH=$library_dir ./app \
    "$source_dir/data/mnist-10k/images-idx3-ubyte.gz" | tee output.txt
grep -q "pseudo-log-likelihood of the first 100 rows: -" output.txt
test -s model.npz
