package openapi_test

import (
	"testing"

	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// TestMoneyPathOnMoto runs TestConformance's money-path journeys (hold,
// pay at the sandbox, signed webhook, workflow to ISSUED, tickets,
// check-in, report, reconcile; then refunds, a revoked ticket, the seat on
// sale again and a refund the provider fails once) on a local stack whose
// DynamoDB is moto_server, an AWS emulator this project did not write: a
// bug that minidyn and the stores share cannot pass both.
func TestMoneyPathOnMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server and the local stack")
	}
	endpoint := testenv.Moto(t)
	o := stackOptions(t)
	o.Config = fixture.Config(t)
	o.Config.DynamoEndpoint, o.Config.TableName = endpoint, "money-on-moto"
	st := fixture.Stack(t, o)
	if st.DynamoEndpoint != endpoint {
		t.Fatalf("the stack uses DynamoDB at %s, not moto's %s", st.DynamoEndpoint, endpoint)
	}
	c := &conformance{t: t, spec: loadSpec(t), base: st.URL(), seen: map[string]map[int]bool{}}
	org := c.token("organizer-1", "organizer")
	c.money(org)
	c.refund(st, org)
}
