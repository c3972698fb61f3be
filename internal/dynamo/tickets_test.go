package dynamo_test

import (
	"context"

	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/tickets"
)

func mkTickets(orderID string, seats ...string) (tickets.Manifest, []tickets.Ticket) {
	now := time.Date(2027, 6, 1, 18, 0, 0, 0, time.UTC)
	m := tickets.Manifest{OrderID: orderID, EventID: "ev1", Account: "fan-1", IssuedAt: now}
	var ts []tickets.Ticket
	for _, seat := range seats {
		t := tickets.Ticket{ID: tickets.TicketID(orderID, seat), EventID: "ev1", Seat: seat, OrderID: orderID, Version: 1}
		ts = append(ts, t)
		m.TicketIDs = append(m.TicketIDs, t.ID)
	}
	return m, ts
}

func getRaw(t *testing.T, db *dynamodb.Client, table, pk, sk string) map[string]types.AttributeValue {
	t.Helper()
	out, err := db.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: aws.String(table),
		Key:       map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: pk}, "sk": &types.AttributeValueMemberS{Value: sk}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Item
}

// TestTicketStore checks the DynamoDB adapter beyond the port contract
// (storetest): item layout, batching, concurrent writes (run against
// AWS_ENDPOINT_URL_DYNAMODB when set).
func TestTicketStore(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	st := dynamo.NewStores(db, table, nil).Tickets
	now := time.Date(2027, 6, 1, 19, 0, 0, 0, time.UTC)
	m, ts := mkTickets("o1", "A-1-1", "A-1-2")
	if err := st.CreateTickets(ctx, m, ts); err != nil {
		t.Fatal(err)
	}

	t.Run("ItemsAtTheirDocumentedKeys", func(t *testing.T) {
		if getRaw(t, db, table, "ORDER#o1", "TICKETS") == nil {
			t.Fatal("no manifest at ORDER#o1 / TICKETS")
		}
		for _, tk := range ts {
			if getRaw(t, db, table, "TICKET#"+tk.ID, "TICKET") == nil {
				t.Fatalf("no ticket at TICKET#%s / TICKET", tk.ID)
			}
		}
	})
	t.Run("SecondCreateIsExists", func(t *testing.T) {
		if err := st.CreateTickets(ctx, m, ts); !fault.Is(err, fault.Exists) {
			t.Fatalf("err = %v, want kind Exists", err)
		}
	})
	t.Run("TicketWithoutManifestIsNotOverwritten", func(t *testing.T) {
		m2, ts2 := mkTickets("o2", "B-1-1")
		ts2 = append(ts2, ts[0]) // already belongs to o1
		m2.TicketIDs = append(m2.TicketIDs, ts[0].ID)
		err := st.CreateTickets(ctx, m2, ts2)
		if err == nil || fault.Is(err, fault.Exists) {
			t.Fatalf("err = %v", err)
		}
		if _, _, found, _ := st.OrderTickets(ctx, "o2"); found {
			t.Fatal("a failed issue left a manifest")
		}
	})
	t.Run("OrderTicketsInManifestOrder", func(t *testing.T) {
		got, stored, found, err := st.OrderTickets(ctx, "o1")
		if err != nil || !found {
			t.Fatalf("found=%v err=%v", found, err)
		}
		if got.Account != "fan-1" || got.EventID != "ev1" || !got.IssuedAt.Equal(m.IssuedAt) || len(stored) != 2 {
			t.Fatalf("manifest = %+v, tickets = %+v", got, stored)
		}
		for i := range ts {
			if stored[i].Ticket != ts[i] || !stored[i].IssuedAt.Equal(m.IssuedAt) || stored[i].Revoked() || stored[i].ScanNonce != "" {
				t.Fatalf("ticket %d = %+v", i, stored[i])
			}
		}
		if _, _, found, err := st.OrderTickets(ctx, "nope"); found || err != nil {
			t.Fatalf("missing order: found=%v err=%v", found, err)
		}
	})
	t.Run("AdmitOnce", func(t *testing.T) {
		tk := ts[0]
		out, err := st.Admit(ctx, tk, tickets.Scan{Nonce: "n1", Gate: "g1", At: now})
		if err != nil || !out.Admitted {
			t.Fatalf("first: %+v, %v", out, err)
		}
		out, err = st.Admit(ctx, tk, tickets.Scan{Nonce: "n2", At: now})
		if err != nil || out.Admitted || !out.Found || out.Current.ScanNonce != "n1" || out.Current.Gate != "g1" || !out.Current.ScannedAt.Equal(now) {
			t.Fatalf("second: %+v, %v", out, err)
		}
		stale := ts[1]
		stale.Version = 2
		if out, err := st.Admit(ctx, stale, tickets.Scan{Nonce: "n3", At: now}); err != nil || out.Admitted || !out.Found || out.Current.Version != 1 {
			t.Fatalf("other version: %+v, %v", out, err)
		}
		ghost := tickets.Ticket{ID: tickets.TicketID("o9", "A-1-1"), EventID: "ev1", OrderID: "o9", Seat: "A-1-1", Version: 1}
		if out, err := st.Admit(ctx, ghost, tickets.Scan{Nonce: "n4", At: now}); err != nil || out.Admitted || out.Found {
			t.Fatalf("missing ticket: %+v, %v", out, err)
		}
	})
	t.Run("RecordScanFirstWins", func(t *testing.T) {
		r := tickets.ScanRecord{TicketID: ts[0].ID, Nonce: "n1", Result: tickets.Admitted, Seat: "A-1-1", Gate: "g1", At: now, Expires: now.Add(time.Hour)}
		got, err := st.RecordScan(ctx, r)
		if err != nil || got != r {
			t.Fatalf("first: %+v, %v", got, err)
		}
		later := r
		later.Result, later.Gate, later.At = tickets.Revoked, "g2", now.Add(time.Minute)
		got, err = st.RecordScan(ctx, later)
		if err != nil || got.Result != tickets.Admitted || got.Gate != "g1" || !got.At.Equal(now) {
			t.Fatalf("second: %+v, %v", got, err)
		}
		if getRaw(t, db, table, "SCAN#"+ts[0].ID+"#n1", "SCAN") == nil {
			t.Fatal("no scan record at SCAN#<ticketId>#<nonce> / SCAN")
		}
	})
	t.Run("RevokeAndReissue", func(t *testing.T) {
		_, stored, _, _ := st.OrderTickets(ctx, "o1")
		if err := st.RevokeTickets(ctx, stored, "refund", now); err != nil {
			t.Fatal(err)
		}
		if err := st.RevokeTickets(ctx, stored, "refund", now); !fault.Is(err, fault.Contention) {
			t.Fatalf("revoking revoked tickets: %v, want kind Contention", err)
		}
		_, revoked, _, _ := st.OrderTickets(ctx, "o1")
		if !revoked[1].Revoked() || revoked[1].RevokeReason != "refund" || !revoked[1].RevokedAt.Equal(now) {
			t.Fatalf("ticket = %+v", revoked[1])
		}
		if out, _ := st.Admit(ctx, ts[1], tickets.Scan{Nonce: "n5", At: now}); out.Admitted || !out.Current.Revoked() {
			t.Fatalf("admitted a revoked ticket: %+v", out)
		}
		rs, err := st.Revocations(ctx, "ev1")
		if err != nil || len(rs) != 2 {
			t.Fatalf("revocations = %+v, %v", rs, err)
		}
		for _, r := range rs {
			if r.UpToVersion != 1 || r.Reason != "refund" || r.EventID != "ev1" || r.OrderID != "o1" || !r.RevokedAt.Equal(now) {
				t.Fatalf("entry = %+v", r)
			}
		}

		later := now.Add(time.Hour)
		if err := st.ReissueTickets(ctx, revoked, "restored", later); err != nil {
			t.Fatal(err)
		}
		if err := st.ReissueTickets(ctx, revoked, "restored", later); !fault.Is(err, fault.Contention) {
			t.Fatalf("re-issue from a stale read: %v, want kind Contention", err)
		}
		_, restored, _, _ := st.OrderTickets(ctx, "o1")
		if restored[1].Version != 2 || restored[1].Revoked() {
			t.Fatalf("re-issued ticket = %+v", restored[1])
		}
		next := ts[1]
		next.Version = 2
		if out, err := st.Admit(ctx, next, tickets.Scan{Nonce: "n6", At: later}); err != nil || !out.Admitted {
			t.Fatalf("re-issued ticket not admitted: %+v, %v", out, err)
		}
	})
	t.Run("RevocationListCoversOldVersions", func(t *testing.T) {
		rs, err := st.Revocations(ctx, "ev1")
		if err != nil || len(rs) != 2 {
			t.Fatalf("revocations = %+v, %v", rs, err)
		}
		for _, r := range rs {
			if r.UpToVersion != 1 || r.Reason != "re-issued: restored" || r.TicketID != tickets.TicketID(r.OrderID, r.Seat) {
				t.Fatalf("entry = %+v", r)
			}
		}
		if rs, err := st.Revocations(ctx, "ev2"); err != nil || len(rs) != 0 {
			t.Fatalf("other event: %+v, %v", rs, err)
		}
	})
}
