package presale_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/presale"
	"github.com/stararena/stararena/internal/testenv"
)

func TestNormalizeReadsCodesAsFansTypeThem(t *testing.T) {
	for _, c := range []struct {
		typed, want string
		ok          bool
	}{
		{"7K3M-Q9TX-2B4H-VR8N", "7K3MQ9TX2B4HVR8N", true},
		{"7k3m q9tx 2b4h vr8n", "7K3MQ9TX2B4HVR8N", true},
		{"oilO-0000-0000-0000", "0110000000000000", true}, // O reads as 0, I and L as 1
		{"7K3M-Q9TX-2B4H-VR8", "", false},                 // too short
		{"7K3M-Q9TX-2B4H-VR8NN", "", false},               // too long
		{"7K3M-Q9TX-2B4H-VR8U", "", false},                // U is not in the alphabet
		{"7K3M_Q9TX_2B4H_VR8N", "", false},
		{strings.Repeat("-", 65), "", false},
		{"", "", false},
	} {
		got, ok := presale.Normalize(c.typed)
		if got != c.want || ok != c.ok {
			t.Errorf("Normalize(%q) = %q, %v; want %q, %v", c.typed, got, ok, c.want, c.ok)
		}
	}
	if f := presale.Format("7K3MQ9TX2B4HVR8N"); f != "7K3M-Q9TX-2B4H-VR8N" {
		t.Errorf("Format = %q", f)
	}
}

// world is the service over the embedded DynamoDB with one event whose
// sale opens in two hours.
func world(t *testing.T) (*presale.Service, *clock.Manual, string) {
	t.Helper()
	db, table := testenv.DynamoDB(t)
	clk := clock.NewManual(time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC))
	st := dynamo.NewStores(db, table, clk)
	cat := catalog.NewService(st.Catalog, catalog.Options{Clock: clk})
	body := fmt.Sprintf(`{"name":"Presale","venue":"Hall","startsAt":"2027-06-01T20:00:00Z","saleOpensAt":%q,
		"queue":{"mode":"on","admitPerMinute":60},
		"sections":[{"id":"A","name":"Stalls","priceCents":4500,"currency":"EUR","rows":[{"id":"1","seats":4}]}]}`,
		clk.Now().Add(2*time.Hour).Format(time.RFC3339))
	ev, err := catalog.ParseCreateEvent([]byte(body), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	created, err := cat.Create(context.Background(), ev, "org-1", "org-1")
	if err != nil {
		t.Fatal(err)
	}
	return presale.NewService(st.Presale, cat, clk, nil), clk, created.ID
}

// TestCreateStoresHashesAndRedeemCountsUses: codes come back in clear
// once, are kept only as hashes and hints, each admits its uses and no
// more, an account asking again takes no use, and errors say why.
func TestCreateStoresHashesAndRedeemCountsUses(t *testing.T) {
	ctx := context.Background()
	svc, clk, event := world(t)
	opens := clk.Now().Add(time.Hour).Format(time.RFC3339)
	for _, bad := range []presale.CreateRequest{
		{Count: 0, Uses: 1, OpensAt: opens},
		{Count: presale.MaxCodes + 1, Uses: 1, OpensAt: opens},
		{Count: 1, Uses: presale.MaxUsesPerCode + 1, OpensAt: opens},
		{Count: 1, Uses: 1, OpensAt: "in an hour"},
		{Count: 1, Uses: 1, OpensAt: clk.Now().Add(2 * time.Hour).Format(time.RFC3339)},
	} {
		if _, err := svc.Create(ctx, event, bad); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("Create(%+v) = %v; want INVALID_REQUEST", bad, err)
		}
	}
	if _, err := svc.Create(ctx, "nope", presale.CreateRequest{Count: 1, Uses: 1, OpensAt: opens}); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("codes for an unknown event: %v", err)
	}
	out, err := svc.Create(ctx, event, presale.CreateRequest{Count: 3, Uses: 2, OpensAt: opens})
	if err != nil || len(out.Codes) != 3 || out.Uses != 2 || out.OpensAt.Format(time.RFC3339) != opens {
		t.Fatalf("Create = %+v, %v", out, err)
	}
	sum, err := svc.List(ctx, event)
	if err != nil || len(sum.Codes) != 3 || sum.Uses != 6 || sum.OpensAt == nil {
		t.Fatalf("List = %+v, %v", sum, err)
	}
	// The list shows each code by its first characters, never whole.
	for _, c := range sum.Codes {
		matches := 0
		for _, code := range out.Codes {
			if strings.HasPrefix(code, c.Hint) {
				matches++
			}
		}
		if len(c.Hint) != presale.HintLen || matches == 0 || c.Used != 0 || c.Uses != 2 {
			t.Fatalf("code view %+v of codes %v", c, out.Codes)
		}
	}

	code := out.Codes[0]
	for _, acct := range []string{"fan-1", "fan-2", "fan-1"} {
		if err := svc.Redeem(ctx, event, code, acct); err != nil {
			t.Fatalf("%s redeems: %v", acct, err)
		}
	}
	if err := svc.Redeem(ctx, event, code, "fan-3"); !apperr.Is(err, apperr.PresaleCodeExhausted) {
		t.Fatalf("a third account on a 2-use code: %v", err)
	}
	for _, typed := range []string{"ABCD-EFGH-JKMN-PQRS", "not a code", strings.Repeat("A", 100)} {
		if err := svc.Redeem(ctx, event, typed, "fan-4"); !apperr.Is(err, apperr.PresaleCodeUnknown) {
			t.Errorf("Redeem(%q) = %v; want PRESALE_CODE_UNKNOWN", typed, err)
		}
	}
	if err := svc.Redeem(ctx, "other-event", out.Codes[1], "fan-4"); !apperr.Is(err, apperr.PresaleCodeUnknown) {
		t.Errorf("a code on another event: %v", err)
	}
}
