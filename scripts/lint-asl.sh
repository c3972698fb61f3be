#!/usr/bin/env bash
# Lint Step Functions definitions with the pinned asl-validator (root
# package.json): every internal/workflow/*.asl.json, or the files named as
# arguments. Also rejects JSONata, which the local runtime cannot run.
# Exit status: 0 all valid, 1 a definition is invalid, 2 setup error.
#
# The CLI form is `asl-validator --json-path <file>`: --json-definition takes
# the JSON text itself, and asl-validator 4.0.0 exits 0 when that text does
# not even parse.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
validator="$root/node_modules/asl-validator/dist/bin/asl-validator.js"
if [[ ! -f "$validator" ]]; then
  echo "lint-asl: $validator is missing: run \`npm ci\` in $root" >&2
  exit 2
fi
command -v node >/dev/null || { echo "lint-asl: node not found: install Node.js 20+" >&2; exit 2; }

if (($# > 0)); then
  files=("$@")
else
  shopt -s nullglob
  files=("$root"/internal/workflow/*.asl.json)
  shopt -u nullglob
  if ((${#files[@]} == 0)); then
    echo "lint-asl: no internal/workflow/*.asl.json found" >&2
    exit 2
  fi
fi

status=0
args=()
for f in "${files[@]}"; do
  if [[ ! -f "$f" ]]; then
    echo "lint-asl: $f: no such file" >&2
    exit 2
  fi
  if ! err="$(node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$f" 2>&1)"; then
    echo "✕ $f is not JSON: $(grep -m1 -E '^[A-Za-z]*Error' <<<"$err")" >&2
    status=1
    continue
  fi
  if grep -q '"QueryLanguage"[[:space:]]*:[[:space:]]*"JSONata"' "$f"; then
    echo "✕ $f uses JSONata; the local Step Functions runtime supports JSONPath only" >&2
    status=1
  fi
  args+=(--json-path "$f")
done
if ((${#args[@]} > 0)); then
  node "$validator" "${args[@]}" || status=1
fi
exit "$status"
