#!/usr/bin/env bash
# heapad runs on the malloc its build chose (CMake's HEAPA_JEMALLOC) and says so on stderr at
# start-up. Usage: allocator.sh HEAPAD EXPECTED, EXPECTED "jemalloc" or "glibc".
set -euo pipefail
heapad=$1
expected=$2
# shellcheck source=heapad_lib.sh
source "$(dirname "$0")/heapad_lib.sh"

grep -q "^heapad: malloc is $expected" "$log" || { cat "$log"; fail "malloc is not $expected"; }
if [ "$expected" = jemalloc ]; then
  grep -q libjemalloc "/proc/$pid/maps" || fail "libjemalloc is not mapped into heapad"
else
  if grep -q libjemalloc "/proc/$pid/maps"; then fail "a glibc build maps libjemalloc"; fi
fi
echo "heapad: malloc is $expected"
