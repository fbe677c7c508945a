#!/usr/bin/env bash
# Regenerates the seed corpora under tests/fuzz/corpus/<target>/seed-* from fuzz_make_corpus
# (tests/fuzz/make_corpus.cc; deterministic). Files named regress-* (inputs that once failed)
# are kept. Usage: tests/fuzz/make-corpus.sh [BUILD_DIR]   (default build-fz, a gcc build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-fz}
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target fuzz_make_corpus
rm -f tests/fuzz/corpus/*/seed-*
"$build/tests/fuzz/fuzz_make_corpus" tests/fuzz/corpus
for d in tests/fuzz/corpus/*/; do echo "$d: $(ls "$d" | wc -l) files, $(du -sh "$d" | cut -f1)"; done
