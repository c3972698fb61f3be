#!/usr/bin/env bash
# Cross-compile every Lambda function (functions/<name>/main.go) for
# provided.al2023 on arm64 into dist/<name>/bootstrap, the asset folder the
# CDK app packages for each function of the topology.
#
#   scripts/build.sh            build all functions
#   scripts/build.sh catalog    build only the named ones
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$#" -gt 0 ]; then
  names=("$@")
else
  names=()
  for main in functions/*/main.go; do
    [ -e "$main" ] || continue
    names+=("$(basename "$(dirname "$main")")")
  done
fi
if [ "${#names[@]}" -eq 0 ]; then
  echo "build.sh: no functions/*/main.go found" >&2
  exit 1
fi

for name in "${names[@]}"; do
  [ -f "functions/$name/main.go" ] || { echo "build.sh: functions/$name/main.go not found" >&2; exit 1; }
  mkdir -p "dist/$name"
  # lambda.norpc: provided.al2023 speaks the Runtime API, not the legacy RPC.
  # -trimpath -s -w: reproducible, smaller zip, faster cold start.
  GOOS=linux GOARCH=arm64 CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' \
    -o "dist/$name/bootstrap" "./functions/$name"
  echo "dist/$name/bootstrap"
done
