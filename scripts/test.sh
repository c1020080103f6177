#!/bin/sh
# Sets up, builds and runs every test: the release build (including the
# install test), then the same tests built with AddressSanitizer and
# UndefinedBehaviorSanitizer. Exits non-zero if any test fails.
#
# Usage: scripts/test.sh
set -eu
cd "$(dirname "$0")/.."

scripts/setup.sh

if [ ! -f build-test/build.ninja ]; then
    meson setup build-test --buildtype=release
fi
ninja -C build-test
meson test -C build-test --print-errorlogs

if [ ! -f build-sanitize/build.ninja ]; then
    meson setup build-sanitize --buildtype=debug \
        -Db_sanitize=address,undefined -Dbench=false
fi
ninja -C build-sanitize
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-sanitize --print-errorlogs --timeout-multiplier 3

echo "test: all tests passed (release and sanitizer builds)"
