#!/usr/bin/env bash
# Run every fuzz target in the module for a short time each (FUZZTIME,
# default 5s). `go test -fuzz` takes one target per run, so this finds them.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${FUZZTIME:-5s}"
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
