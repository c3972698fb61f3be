#!/usr/bin/env bash
# The deploy rehearsal: the CDK app through the pinned cdklocal into a
# running moto_server (scripts/localstack.sh deploy with moto's endpoint,
# account and path-style S3):
#
#   MOTO_ENDPOINT=http://localhost:5000 scripts/moto-deploy.sh [cdk args]
#
# The cloud assembly goes to CDKLOCAL_OUT (default .cache/moto.out/), apart
# from LocalStack's: the account differs. infra/rehearsal's test runs this
# against a moto_server of its own and reads the stack back.
#
# What is deployed is the synthesized assembly with one change: references
# to resources moto's CloudFormation does not create (secrets) become
# placeholder ARNs of the right shape (scripts/moto-template), since moto
# resolves such a Ref to nothing and then refuses an IAM statement whose
# only resource it is. The assembly is synthesized, changed, then deployed
# as it is (cdk deploy --app <assembly>).
set -euo pipefail
cd "$(dirname "$0")/.."

endpoint=${MOTO_ENDPOINT:-http://localhost:5000}
# moto's CloudFormation reads a TemplateURL path-style (/bucket/key) only
# when the URL contains "localhost"; otherwise it takes the host's first
# label as the bucket, and 127.0.0.1 made the change set fail with "The
# specified bucket does not exist".
endpoint=${endpoint/127.0.0.1/localhost}
case "$endpoint" in
  http://localhost:[0-9]*) ;;
  *) echo "moto-deploy.sh: MOTO_ENDPOINT must be http://localhost:PORT or http://127.0.0.1:PORT, got $endpoint" >&2; exit 2 ;;
esac
port=${endpoint##*:}
port=${port%%/*}

# Per-service endpoints of the caller (AWS_ENDPOINT_URL_DYNAMODB for the
# tests) would send the CLI elsewhere.
while read -r name; do unset "$name"; done < <(compgen -e | grep '^AWS_ENDPOINT_URL_' || true)
# cdklocal takes AWS_ENDPOINT_URL for every service but S3 and insists on
# AWS_ENDPOINT_URL_S3; EDGE_PORT is the port of the asset bucket URLs it
# rewrites. moto_server serves S3 path-style only (no bucket subdomains).
export AWS_ENDPOINT_URL=$endpoint AWS_ENDPOINT_URL_S3=$endpoint
export AWS_S3_FORCE_PATH_STYLE=1 EDGE_PORT=$port
# moto's default account: CDK refuses to deploy to an account other than
# the one the credentials belong to.
export LOCALSTACK_ACCOUNT=${MOTO_ACCOUNT:-123456789012}
export LAMBDA_ENDPOINT_URL=${LAMBDA_ENDPOINT_URL:-$endpoint}
out=${CDKLOCAL_OUT:-.cache/moto.out}
# The edge stack (CloudFront, WAFv2 in us-east-1) has no moto model.
export EDGE=off
CDKLOCAL_OUT=$out scripts/localstack.sh synth "$@"
go run ./scripts/moto-template -account "$LOCALSTACK_ACCOUNT" -region "${AWS_REGION:-us-east-1}" "$out"/*.template.json
# Bootstrapping may synthesize the app again: into a directory of its own,
# so the changed assembly stays as it is.
CDKLOCAL_OUT=$out.bootstrap exec scripts/localstack.sh deploy --app "$out" "$@"
