#!/usr/bin/env bash
# Regenerates the seed corpora under tests/fuzz/corpus/<target>/seed-* from fuzz_make_corpus
# (tests/fuzz/make_corpus.cc; deterministic). Files named regress-* (inputs that once failed)
# are kept. Then minimises them (.ci/fuzz-short --minimise: libFuzzer -merge=1 with the clang
# fuzz build in build-fuzz), so that only seeds adding coverage are committed;
# HEAPA_CORPUS_MINIMISE=0 writes every seed and skips that.
# Usage: tests/fuzz/make-corpus.sh [BUILD_DIR]   (default build-fz, a gcc build)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-fz}
[ -f "$build/CMakeCache.txt" ] || cmake -S . -B "$build" -G Ninja >/dev/null
cmake --build "$build" --target fuzz_make_corpus
rm -f tests/fuzz/corpus/*/seed-*
"$build/tests/fuzz/fuzz_make_corpus" tests/fuzz/corpus
for d in tests/fuzz/corpus/*/; do echo "$d: $(ls "$d" | wc -l) files, $(du -sh "$d" | cut -f1)"; done
if [ "${HEAPA_CORPUS_MINIMISE:-1}" != 0 ]; then
  bash .ci/fuzz-short --minimise
fi
