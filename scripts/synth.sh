#!/usr/bin/env bash
# Synthesize the CDK app offline into cdk.out/ (StarArena.template.json):
# no credentials, no CLI version check, notices or telemetry. Extra arguments
# go to `cdk synth`. Needs `npm ci` once (the pinned CLI in node_modules).
# Builds the function binaries first when any is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/cdk-prepare.sh cdk
exec npx --no-install cdk synth --no-notices -q "$@"
