#!/usr/bin/env bash
# Synthesize the CDK app offline into cdk.out/ (StarArena.template.json):
# no credentials, no CLI version check, notices or telemetry. Extra arguments
# go to `cdk synth`. Needs `npm ci` once (the pinned CLI in node_modules).
# Builds the function binaries first when any is missing; run
# scripts/build.sh yourself to refresh stale ones.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x node_modules/.bin/cdk ]; then
  echo "synth.sh: node_modules/.bin/cdk missing: run 'npm ci' first" >&2
  exit 1
fi

for main in functions/*/main.go; do
  [ -e "$main" ] || continue
  if [ ! -x "dist/$(basename "$(dirname "$main")")/bootstrap" ]; then
    scripts/build.sh
    break
  fi
done

export CDK_DISABLE_VERSION_CHECK=1 CDK_DISABLE_CLI_TELEMETRY=true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
exec npx --no-install cdk synth --no-notices -q "$@"
