#!/usr/bin/env bash
# A sale from end to end with curl against the local stack (`make run`):
# an organizer creates an event with a waiting room, a fan joins it, the
# organizer opens the sale, the fan is admitted, holds two seats, pays
# through the sandbox provider and gets the tickets, and a gate checks one
# in. The README quotes this script; `go test ./internal/openapi -run
# TestWalkthrough` runs it against a fresh local stack, so neither can rot.
#
#   scripts/walkthrough.sh                       # against http://127.0.0.1:8080
#   API=http://127.0.0.1:18080 scripts/walkthrough.sh
#
# Needs bash, curl, grep and sed (no jq); `go` for the draw check.
set -euo pipefail
cd "$(dirname "$0")/.." # the module root, for go run ./scripts/verify-draw
API=${API:-http://127.0.0.1:8080}

# json NAME: the first string or number field NAME of the JSON on stdin.
json() { grep -o "\"$1\": *\(\"[^\"]*\"\|-\?[0-9][0-9.]*\)" | head -n 1 | sed 's/^"[^"]*": *//; s/^"//; s/"$//'; }
# wait_until SECONDS COMMAND...: run COMMAND every second until it succeeds.
wait_until() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    if ((SECONDS >= deadline)); then echo "gave up waiting for: $*" >&2; return 1; fi
    sleep 1
  done
}

# An organizer (locally a dev token; in AWS a Cognito sign-in) creates an
# event whose sale opens in the future and goes through the waiting room.
ORG=$(curl -sS --fail-with-body -X POST "$API/dev/token" -H 'Content-Type: application/json' \
  -d '{"sub":"organizer-1","role":"organizer"}' | json token)
EVENT=$(curl -sS --fail-with-body -X POST "$API/admin/v1/events" -H "Authorization: Bearer $ORG" -H 'Content-Type: application/json' -d '{
  "name":"Club night","venue":"Small Hall","startsAt":"2030-06-01T20:00:00Z","saleOpensAt":"2030-05-01T10:00:00Z",
  "queue":{"mode":"on","admitPerMinute":600},
  "sections":[{"id":"A","priceCents":4500,"currency":"EUR","rows":[{"id":"1","seats":20}]},
              {"id":"GA","priceCents":3000,"currency":"EUR","capacity":300}]}' | json eventId)
echo "event $EVENT"

# A fan joins the waiting room before the sale opens: a place in the draw.
FAN=$(curl -sS --fail-with-body -X POST "$API/dev/token" -H 'Content-Type: application/json' -d '{"sub":"fan-1"}' | json token)
curl -sS --fail-with-body -X POST "$API/v1/events/$EVENT/queue" -H "Authorization: Bearer $FAN" -o /dev/null -w '%{http_code}\n'   # 202: on the queue
HASH=$(curl -sS --fail-with-body "$API/v1/events/$EVENT/queue-status" | json shuffleSeedHash)     # what every waiting page polls (CDN, 2 s)
echo "seed hash published before the sale: $HASH"

# The organizer opens the sale (open | pause | close; admitPerMinute retunes
# the inlet). The draw orders everyone who joined before it.
curl -sS --fail-with-body -X POST "$API/admin/v1/events/$EVENT/sale" -H "Authorization: Bearer $ORG" \
  -H 'Content-Type: application/json' -d '{"action":"open","admitPerMinute":600}' >/dev/null

# The fan follows its place (state, position, etaSeconds, pollSeconds) until
# the inlet serves it; anyone can re-run the draw against the published hash.
my_turn() { curl -sS --fail-with-body "$API/v1/events/$EVENT/queue/me" -H "Authorization: Bearer $FAN" | grep -q '"state":"ADMITTABLE"'; }
wait_until 60 my_turn
go run ./scripts/verify-draw -url "$API/v1/events/$EVENT/queue/draw" -hash "$HASH" -account fan-1 -event "$EVENT"

# Admission (single use, bound to fan and event), then a hold of the two
# best seats of section A: one DynamoDB transaction, an order PENDING_PAYMENT.
# A retry with the same Idempotency-Key returns the same order.
ADM=$(curl -sS --fail-with-body -X POST "$API/v1/events/$EVENT/admission" -H "Authorization: Bearer $FAN" | json admissionToken)
ORDER=$(curl -sS --fail-with-body -X POST "$API/v1/events/$EVENT/holds" -H "Authorization: Bearer $FAN" -H 'Content-Type: application/json' \
  -H "Idempotency-Key: hold-$EVENT" -d "{\"admissionToken\":\"$ADM\",\"section\":\"A\",\"quantity\":2}" | json orderId)
echo "order $ORDER"

# Pay through the sandbox provider: open checkoutUrl in a browser and press
# Pay, or complete the payment as the pay page would. The provider's signed
# webhook marks the order PAID and the order workflow issues the tickets.
PAY=$(curl -sS --fail-with-body -X POST "$API/v1/orders/$ORDER/payments" -H "Authorization: Bearer $FAN" -H 'Content-Type: application/json' \
  -d '{"provider":"sandbox"}' | json paymentId)
curl -sS --fail-with-body -X POST "$API/sandbox/payments/$PAY/complete" -H 'Content-Type: application/json' \
  -d '{"outcome":"succeeded","webhook":"deliver"}' >/dev/null   # or "drop", "duplicate", "delay", "reorder"
issued() { curl -sS --fail-with-body "$API/v1/orders/$ORDER" -H "Authorization: Bearer $FAN" | json status | grep -qx ISSUED; }
wait_until 60 issued
CODE=$(curl -sS --fail-with-body "$API/v1/orders/$ORDER/tickets" -H "Authorization: Bearer $FAN" | json code)
echo "ticket $CODE"

# At the door a gate scans the code for its event: ADMITTED once; the same
# nonce again gets the same answer, another scan ALREADY_USED, a ticket of
# another event WRONG_EVENT.
curl -sS --fail-with-body -X POST "$API/v1/checkin" -H "Authorization: Bearer $ORG" -H 'Content-Type: application/json' \
  -d "{\"eventId\":\"$EVENT\",\"code\":\"$CODE\",\"nonce\":\"scan-1\",\"gate\":\"north-3\"}"
echo
