#!/usr/bin/env bash
# Cross-compile every Lambda function (functions/<name>/main.go) for
# provided.al2023 on arm64 into dist/<name>/bootstrap, the asset folder the
# CDK app packages for each function of the topology.
#
#   scripts/build.sh            build all functions
#   scripts/build.sh catalog    build only the named ones
#
# The tests that run the binaries under the Lambda runtime interface emulator
# build them here too, so what they run is built as what ships: ARCH (default
# arm64) picks the architecture, DIST (default dist) the output folder, SRC
# (default functions) the folder of mains.
set -euo pipefail
cd "$(dirname "$0")/.."
arch="${ARCH:-arm64}"
dist="${DIST:-dist}"
src="${SRC:-functions}"

if [ "$#" -gt 0 ]; then
  names=("$@")
else
  names=()
  for main in "$src"/*/main.go; do
    [ -e "$main" ] || continue
    names+=("$(basename "$(dirname "$main")")")
  done
fi
if [ "${#names[@]}" -eq 0 ]; then
  echo "build.sh: no $src/*/main.go found" >&2
  exit 1
fi

for name in "${names[@]}"; do
  [ -f "$src/$name/main.go" ] || { echo "build.sh: $src/$name/main.go not found" >&2; exit 1; }
  mkdir -p "$dist/$name"
  # lambda.norpc: provided.al2023 speaks the Runtime API, not the legacy RPC.
  # lambdabuild: the AWS SDK's configuration comes from Lambda's environment
  # (internal/awsconf), without the SDK's config package.
  # nethttpomithttp2: net/http without its HTTP/2 (about 390 KB of every
  # binary). A function serves no HTTP itself (the Runtime API is HTTP/1.1),
  # and DynamoDB, which nearly every call goes to, answers HTTP/1.1 only; the
  # other services' calls are one or two per request (ADR 19).
  # -trimpath -s -w: reproducible, smaller zip, faster cold start.
  GOOS=linux GOARCH="$arch" CGO_ENABLED=0 go build -tags lambda.norpc,lambdabuild,nethttpomithttp2 -trimpath -ldflags='-s -w' \
    -o "$dist/$name/bootstrap" "./$src/$name"
  echo "$dist/$name/bootstrap"
done
