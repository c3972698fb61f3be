# Sourced by synth.sh and localstack.sh before they run a pinned CDK CLI
# from node_modules/.bin ($1, e.g. cdk or cdklocal): the CLI is installed,
# every function binary exists (built when any is missing; run
# scripts/build.sh yourself to refresh stale ones), and the CLI skips its
# version check, telemetry and Node end-of-life warning.
cdk_cli=$1
if [ ! -x "node_modules/.bin/$cdk_cli" ]; then
  echo "$(basename "$0"): node_modules/.bin/$cdk_cli missing: run 'npm ci' first" >&2
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
