#!/usr/bin/env bash
# Seed the cargo-fuzz corpus with the catalog's own files: every .task and
# .exmix under tasks/, examples/ and tests/fixtures/, named by path so that
# reseeding replaces rather than duplicates. Then: cargo +nightly fuzz run parse
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=fuzz/corpus/parse
mkdir -p "$corpus"
n=0
while IFS= read -r -d '' f; do
    cp "$f" "$corpus/$(printf '%s' "$f" | tr '/' '_')"
    n=$((n + 1))
done < <(find tasks examples tests/fixtures \( -name '*.task' -o -name '*.exmix' \) -print0)
echo "seeded $corpus with $n catalog files"
