package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/tickets"
)

func issue(orderID string, seats ...string) (tickets.Manifest, []tickets.Ticket) {
	m := tickets.Manifest{OrderID: orderID, EventID: "e1", Account: "fan-1", IssuedAt: Now}
	var ts []tickets.Ticket
	for _, seat := range seats {
		tk := tickets.Ticket{ID: tickets.TicketID(orderID, seat), EventID: "e1", Seat: seat, OrderID: orderID, Version: 1}
		ts = append(ts, tk)
		m.TicketIDs = append(m.TicketIDs, tk.ID)
	}
	return m, ts
}

// RunTicketStore is the tickets.Store suite.
func RunTicketStore(t *testing.T, newStores func(t *testing.T) Stores) {
	ctx := context.Background()
	t.Run("IssueOnceThenRead", func(t *testing.T) {
		st := newStores(t)
		m, ts := issue("o1", "A-1-1", "A-1-2")
		if err := st.Tickets.CreateTickets(ctx, m, ts); err != nil {
			t.Fatal(err)
		}
		if err := st.Tickets.CreateTickets(ctx, m, ts); !fault.Is(err, fault.Exists) {
			t.Fatalf("a second issue = %v, want fault.Exists", err)
		}
		got, stored, found, err := st.Tickets.OrderTickets(ctx, "o1")
		if err != nil || !found || len(stored) != 2 || got.OrderID != "o1" || stored[0].Seat != "A-1-1" {
			t.Fatalf("OrderTickets = %+v, %+v, %v, %v", got, stored, found, err)
		}
		if _, _, found, err := st.Tickets.OrderTickets(ctx, "nope"); found || err != nil {
			t.Fatalf("OrderTickets(nope) = %v, %v", found, err)
		}
	})
	t.Run("FirstScanAdmits", func(t *testing.T) {
		st := newStores(t)
		m, ts := issue("o1", "A-1-1")
		if err := st.Tickets.CreateTickets(ctx, m, ts); err != nil {
			t.Fatal(err)
		}
		out, err := st.Tickets.Admit(ctx, ts[0], tickets.Scan{Nonce: "n1", Gate: "g1", At: Now})
		if err != nil || !out.Admitted {
			t.Fatalf("first scan = %+v, %v", out, err)
		}
		out, err = st.Tickets.Admit(ctx, ts[0], tickets.Scan{Nonce: "n2", At: Now})
		if err != nil || out.Admitted || !out.Found || out.Current.ScanNonce != "n1" {
			t.Fatalf("second scan = %+v, %v; want not admitted, first nonce kept", out, err)
		}
		ghost := tickets.Ticket{ID: "ghost", EventID: "e1", Seat: "Z", OrderID: "o9", Version: 1}
		if out, err := st.Tickets.Admit(ctx, ghost, tickets.Scan{Nonce: "n3", At: Now}); err != nil || out.Admitted || out.Found {
			t.Fatalf("scan of an unknown ticket = %+v, %v", out, err)
		}
	})
	t.Run("ScanAnswerRecordedOnce", func(t *testing.T) {
		st := newStores(t)
		r := tickets.ScanRecord{TicketID: "t1", Nonce: "n1", Result: tickets.Admitted, Seat: "A-1-1", At: Now, Expires: Now.Add(time.Hour)}
		if got, err := st.Tickets.RecordScan(ctx, r); err != nil || got.Result != tickets.Admitted {
			t.Fatalf("RecordScan = %+v, %v", got, err)
		}
		later := r
		later.Result, later.At = tickets.AlreadyUsed, Now.Add(time.Minute)
		if got, err := st.Tickets.RecordScan(ctx, later); err != nil || got.Result != tickets.Admitted {
			t.Fatalf("a replayed nonce = %+v, %v; want the first answer", got, err)
		}
	})
	t.Run("RevokeAndReissueAtVersion", func(t *testing.T) {
		st := newStores(t)
		m, ts := issue("o1", "A-1-1")
		if err := st.Tickets.CreateTickets(ctx, m, ts); err != nil {
			t.Fatal(err)
		}
		_, stored, _, _ := st.Tickets.OrderTickets(ctx, "o1")
		if err := st.Tickets.RevokeTickets(ctx, stored, "refund", Now); err != nil {
			t.Fatal(err)
		}
		if err := st.Tickets.RevokeTickets(ctx, stored, "refund", Now); !fault.Is(err, fault.Contention) {
			t.Fatalf("a second revoke = %v, want fault.Contention", err)
		}
		rs, err := st.Tickets.Revocations(ctx, "e1")
		if err != nil || len(rs) != 1 || rs[0].TicketID != ts[0].ID || rs[0].UpToVersion != 1 {
			t.Fatalf("Revocations = %+v, %v", rs, err)
		}
		_, revoked, _, _ := st.Tickets.OrderTickets(ctx, "o1")
		if out, _ := st.Tickets.Admit(ctx, ts[0], tickets.Scan{Nonce: "n1", At: Now}); out.Admitted {
			t.Fatal("a revoked ticket was admitted")
		}
		if err := st.Tickets.ReissueTickets(ctx, revoked, "restored", Now); err != nil {
			t.Fatal(err)
		}
		if err := st.Tickets.ReissueTickets(ctx, revoked, "restored", Now); !fault.Is(err, fault.Contention) {
			t.Fatalf("a second reissue from the same read = %v, want fault.Contention", err)
		}
		next := ts[0]
		next.Version = 2
		if out, err := st.Tickets.Admit(ctx, next, tickets.Scan{Nonce: "n2", At: Now}); err != nil || !out.Admitted {
			t.Fatalf("the reissued code = %+v, %v", out, err)
		}
	})
}
