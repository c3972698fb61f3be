#!/usr/bin/env bash
# Run every fuzz target in the module briefly (FUZZTIME, default 40000x
# executions). `go test -fuzz` takes one target per run, so this finds them.
# A count rather than a duration: with a duration, Go 1.26's fuzz coordinator
# can report "context deadline exceeded" at the deadline with no failing
# input (golang/go#75804, fixed in Go 1.27).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-40000x}"
found=0
while IFS= read -r file; do
  pkg="./$(dirname "$file")"
  for target in $(grep -oE '^func (Fuzz[A-Za-z0-9_]+)\(' "$file" | sed -E 's/^func (Fuzz[A-Za-z0-9_]+)\(/\1/'); do
    found=$((found + 1))
    echo "fuzz $pkg $target ($fuzztime)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
  done
done < <(git ls-files --cached --others --exclude-standard '*_test.go' | grep -v '^node_modules/' | xargs grep -l '^func Fuzz' || true)
echo "fuzz: $found targets"
