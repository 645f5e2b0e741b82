#!/usr/bin/env bash
# Compares the plans two exc binaries make of every mixture of the examples
# and the plan fixtures, byte for byte (`exc plan --format json`).
# Usage: scripts/compare_plans.sh OLD_EXC NEW_EXC
# Prints one line per mixture (same / DIFFERENT / both fail) and the diff of
# each difference; exits 1 when any differs.
set -u
old=$1 new=$2
tmp=$(mktemp -d)
status=0
files=$(find examples tests/fixtures/plans tests/fixtures/hub -name '*.exmix' | sort)
for f in $files; do
  for m in $(sed -n 's/^\s*mixture \([A-Za-z0-9_]*\).*/\1/p' "$f"); do
    a=$tmp/old.json b=$tmp/new.json
    "$old" plan "$f" --name "$m" --format json >"$a" 2>/dev/null; ra=$?
    "$new" plan "$f" --name "$m" --format json >"$b" 2>/dev/null; rb=$?
    if [ $ra -ne 0 ] && [ $rb -ne 0 ]; then
      echo "both fail  $f $m"
    elif cmp -s "$a" "$b"; then
      echo "same       $f $m"
    else
      echo "DIFFERENT  $f $m"
      diff "$a" "$b" | head -20
      status=1
    fi
  done
done
rm -rf "$tmp"
exit $status
