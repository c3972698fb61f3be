#!/usr/bin/env bash
# The CDK app against LocalStack with the pinned cdklocal (aws-cdk-local):
#
#   scripts/localstack.sh synth [cdk args]    synthesize offline into .cache/cdklocal.out/
#   scripts/localstack.sh deploy [cdk args]   bootstrap LocalStack and deploy every stack
#
# LocalStack must be running for deploy (cdklocal's default endpoint:
# localhost:4566). The edge (CloudFront and the
# us-east-1 WAF stack) is off unless EDGE=on: emulators without CloudFront
# or WAFv2 cannot create it. The functions get AWS_ENDPOINT_URL (context
# endpointUrl, default the same URL as seen from LocalStack's Lambda
# containers: LAMBDA_ENDPOINT_URL) so their SDK clients talk to LocalStack.
# Builds the function binaries first when any is missing. CDKLOCAL_OUT
# moves the cloud assembly (default .cache/cdklocal.out/).
set -euo pipefail
cd "$(dirname "$0")/.."

cmd=${1:-}
case "$cmd" in
  synth | deploy) shift ;;
  *) echo "usage: scripts/localstack.sh synth|deploy [cdk args]" >&2; exit 2 ;;
esac

. scripts/cdk-prepare.sh cdklocal

# cdklocal finds LocalStack on localhost:4566 itself (EDGE_PORT,
# LOCALSTACK_HOSTNAME); an explicit AWS_ENDPOINT_URL also needs
# AWS_ENDPOINT_URL_S3. It drops other AWS_* variables (no real credentials
# reach the CLI) and uses test credentials; AWS_REGION is kept here.
export AWS_REGION=${AWS_REGION:-us-east-1}
export AWS_ENVAR_ALLOWLIST=${AWS_ENVAR_ALLOWLIST:-AWS_REGION,AWS_DEFAULT_REGION}
export AWS_DEFAULT_REGION=$AWS_REGION
account=${LOCALSTACK_ACCOUNT:-000000000000}
out=${CDKLOCAL_OUT:-.cache/cdklocal.out}
context=(-c "region=$AWS_REGION" -c "account=$account" -c "edge=${EDGE:-off}"
  -c "endpointUrl=${LAMBDA_ENDPOINT_URL:-http://localhost.localstack.cloud:4566}")

case "$cmd" in
  synth)
    exec npx --no-install cdklocal synth --no-notices -q -o "$out" "${context[@]}" "$@"
    ;;
  deploy)
    regions=("$AWS_REGION")
    if [ "${EDGE:-off}" = on ] && [ "$AWS_REGION" != us-east-1 ]; then regions+=(us-east-1); fi
    for r in "${regions[@]}"; do
      npx --no-install cdklocal bootstrap --no-notices -o "$out" "${context[@]}" "aws://$account/$r"
    done
    exec npx --no-install cdklocal deploy --no-notices --all --require-approval never -o "$out" "${context[@]}" "$@"
    ;;
esac
