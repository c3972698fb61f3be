package dynamo_test

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/health"
	"github.com/stararena/stararena/internal/inventory"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/presale"
	"github.com/stararena/stararena/internal/tenancy"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/tickets"
	"github.com/stararena/stararena/internal/topology"
	"github.com/stararena/stararena/internal/waitlist"
	"github.com/stararena/stararena/internal/waitroom"
)

// TestTopologyWritePrefixesAreKeyPrefixes: every IAM LeadingKeys prefix
// the topology grants names a partition the key module builds, so a
// renamed key cannot leave a policy that allows nothing (or something
// else).
func TestTopologyWritePrefixesAreKeyPrefixes(t *testing.T) {
	known := dynamo.PartitionPrefixes()
	for _, f := range topology.Default().Functions {
		for _, p := range f.Access.Table.WritePrefixes {
			if !slices.Contains(known, p) {
				t.Errorf("function %s may write %q, which is no partition prefix of the key module (%v)", f.Name, p, known)
			}
		}
	}
	for m, ps := range dynamo.SingleItemWrites() {
		for _, p := range ps {
			if !slices.Contains(known, p) {
				t.Errorf("SingleItemWrites: %s writes %q, which is no partition prefix", m, p)
			}
		}
	}
}

// writeRecorder sees every non-transactional write request the client
// sends (before it is sent, whatever its outcome) and files the partition
// prefix of each item under the method being run.
type writeRecorder struct {
	mu      sync.Mutex
	current string
	got     map[string]map[string]bool
	stray   []string
}

func (r *writeRecorder) during(method string, run func()) {
	r.mu.Lock()
	r.current = method
	r.mu.Unlock()
	run()
	r.mu.Lock()
	r.current = ""
	r.mu.Unlock()
}

func (r *writeRecorder) record(pk types.AttributeValue) {
	v, _ := pk.(*types.AttributeValueMemberS)
	prefix := "?"
	if v != nil {
		for _, p := range dynamo.PartitionPrefixes() {
			if strings.HasPrefix(v.Value, p) {
				prefix = p
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current == "" {
		r.stray = append(r.stray, prefix)
		return
	}
	if r.got[r.current] == nil {
		r.got[r.current] = map[string]bool{}
	}
	r.got[r.current][prefix] = true
}

func (r *writeRecorder) middleware(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("recordWrites",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			switch p := in.Parameters.(type) {
			case *dynamodb.PutItemInput:
				r.record(p.Item["pk"])
			case *dynamodb.UpdateItemInput:
				r.record(p.Key["pk"])
			case *dynamodb.BatchWriteItemInput:
				for _, reqs := range p.RequestItems {
					for _, w := range reqs {
						if w.PutRequest != nil {
							r.record(w.PutRequest.Item["pk"])
						}
						if w.DeleteRequest != nil {
							r.record(w.DeleteRequest.Key["pk"])
						}
					}
				}
			}
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// TestSingleItemWritesDeclared holds dynamo.SingleItemWrites, which the
// IAM access test relies on, to what each method sends: GIVEN a client
// that records every PutItem, UpdateItem and BatchWriteItem WHEN each
// listed method runs once THEN the partitions it wrote are exactly the
// declared ones (a condition failing does not matter: the request named
// the item).
func TestSingleItemWritesDeclared(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	rec := &writeRecorder{got: map[string]map[string]bool{}}
	recording := dynamodb.New(db.Options(), func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, rec.middleware) })
	st := dynamo.NewStores(recording, table, nil)
	now := time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC)
	ev := smallEvent(t, "e1")
	o := orders.Order{ID: "o1", EventID: "e1", Account: "fan-1", Status: orders.PendingPayment, Section: "A", Seats: []string{"A-1-1"},
		CreatedAt: now, ExpiresAt: now.Add(15 * time.Minute)}
	place := waitroom.Place{EventID: "e1", Account: "fan-1", Entrant: "x", JoinedAt: now}
	tk := tickets.Ticket{ID: tickets.TicketID("o1", "A-1-1"), EventID: "e1", Seat: "A-1-1", OrderID: "o1", Version: 1}

	// In the order of SingleItemWrites' declaration; CreateEvent first, as
	// UpdateEvent reads the event before writing.
	calls := []struct {
		method string
		run    func() error
	}{
		{"(*CatalogStore).CreateEvent", func() error { return st.Catalog.CreateEvent(ctx, ev) }},
		{"(*CatalogStore).LeaseRefresh", func() error { _, err := st.Catalog.LeaseRefresh(ctx, "e1", now, now.Add(time.Second)); return err }},
		{"(*CatalogStore).EndRefresh", func() error { return st.Catalog.EndRefresh(ctx, "e1") }},
		{"(*CatalogStore).PutProjection", func() error {
			p := catalog.InitialProjections(&ev, now)[0]
			p.Version = 2
			return st.Catalog.PutProjection(ctx, "e1", p, 1)
		}},
		{"(*CatalogStore).UpdateEvent", func() error {
			_, err := st.Catalog.UpdateEvent(ctx, "e1", func(e *catalog.Event) error { e.Name = "Renamed"; return nil })
			return err
		}},
		{"(*OrderStore).SetStatus", func() error {
			// A transition that may reopen a finished order marks its
			// event for the reconciler first.
			return st.Orders.SetStatus(ctx, o, []orders.Status{orders.Expired}, orders.RefundPending, nil, now)
		}},
		{"(*OrderStore).Rehold", func() error {
			return st.Orders.Rehold(ctx, o, orders.Payment{Provider: "sandbox", ID: "p9", OrderID: "o1"}, 0, now)
		}},
		{"(*OrderStore).BeginRefund", func() error { return st.Orders.BeginRefund(ctx, o, nil, now) }},
		{"(*InventoryStore).CreateComp", func() error {
			c := o
			c.ID, c.Status, c.Seats = "c1", orders.Issued, []string{"A-1-3"}
			return st.Inventory.CreateComp(ctx, c)
		}},
		{"(*ReconcileStore).MarkDue", func() error { return st.Reconcile.MarkDue(ctx, "e1", now) }},
		{"(*InventoryStore).SetSeatState", func() error {
			return st.Inventory.SetSeatState(ctx, "e1", "A-1-2", []string{catalog.SeatAvailable}, catalog.SeatHeldBack)
		}},
		{"(*InventoryStore).CountHoldRequest", func() error {
			_, err := st.Inventory.CountHoldRequest(ctx, "e1", "fan-1", inventory.RateCount{Window: now, Expires: now.Add(time.Minute), Limit: 3}, "k1")
			return err
		}},
		{"(*OrderStore).SetTaskToken", func() error { return st.Orders.SetTaskToken(ctx, "o1", "token") }},
		{"(*OrderStore).RecordDecline", func() error {
			return st.Orders.RecordDecline(ctx, "o1", orders.Decline{EventID: "evt_1", At: now, Code: "generic_decline", Reason: "Your card was declined."}, now)
		}},
		{"(*OrderStore).PutPayment", func() error {
			_, err := st.Orders.PutPayment(ctx, orders.PaymentRecord{Provider: "sandbox", PaymentID: "p1", OrderID: "o1", Role: orders.RolePays, CapturedAt: now})
			return err
		}},
		{"(*OrderStore).MarkPaymentRefunded", func() error { return st.Orders.MarkPaymentRefunded(ctx, "sandbox", "p1", "r1") }},
		{"(*ReconcileStore).SaveReconcileReport", func() error { return st.Reconcile.SaveReconcileReport(ctx, "e1", []byte("{}")) }},
		{"(*ProviderEventStore).FinishEvent", func() error { _, err := st.ProviderEvents.FinishEvent(ctx, "sandbox", "evt_1", now); return err }},
		{"(*TicketStore).Admit", func() error { _, err := st.Tickets.Admit(ctx, tk, tickets.Scan{Nonce: "n1", At: now}); return err }},
		{"(*TicketStore).RecordScan", func() error {
			_, err := st.Tickets.RecordScan(ctx, tickets.ScanRecord{TicketID: tk.ID, Nonce: "n1", Result: tickets.Admitted, At: now, Expires: now.Add(time.Hour)})
			return err
		}},
		{"(*WaitroomStore).CreateState", func() error { _, err := st.Waitroom.CreateState(ctx, waitroom.State{EventID: "e1"}); return err }},
		{"(*WaitroomStore).SaveState", func() error { return st.Waitroom.SaveState(ctx, waitroom.State{EventID: "e1", Version: 1}) }},
		{"(*WaitroomStore).PutNewPlace", func() error { _, err := st.Waitroom.PutNewPlace(ctx, place); return err }},
		{"(*WaitroomStore).PutNewPlaces", func() error {
			// fan-1 has a place (PutNewPlace above): the transaction fails
			// its condition and the single puts decide each place
			other := place
			other.Account = "fan-2"
			_, errs := st.Waitroom.PutNewPlaces(ctx, []waitroom.Place{place, other})
			return errors.Join(errs...)
		}},
		{"(*WaitroomStore).WritePlaces", func() error { return st.Waitroom.WritePlaces(ctx, []waitroom.Place{place}) }},
		{"(*WaitroomStore).AddPositions", func() error { _, err := st.Waitroom.AddPositions(ctx, "e1", 1); return err }},
		{"(*WaitroomStore).SetPositions", func() error { return st.Waitroom.SetPositions(ctx, "e1", 1) }},
		{"(*WaitroomStore).ClaimServed", func() error {
			_, _, _, err := st.Waitroom.ClaimServed(ctx, "e1", "fan-1", 1, "tok", now.Add(time.Minute), now)
			return err
		}},
		{"(*WaitroomStore).MarkUsed", func() error { _, err := st.Waitroom.MarkUsed(ctx, "e1", "fan-1", "tok", now); return err }},
		{"(*WaitroomStore).MarkAbandoned", func() error { _, err := st.Waitroom.MarkAbandoned(ctx, place); return err }},
		{"(*WaitroomStore).MarkAbandonedAll", func() error {
			// flagged by MarkAbandoned above: the transaction fails its
			// condition and the single updates decide each place
			other := place
			other.Account = "fan-2"
			_, err := st.Waitroom.MarkAbandonedAll(ctx, []waitroom.Place{place, other})
			return err
		}},
		{"(*WaitroomStore).AddStats", func() error { return st.Waitroom.AddStats(ctx, "e1", waitroom.Stats{Admitted: 1}) }},
		{"(*HealthStore).AddWindow", func() error {
			return st.Health.AddWindow(ctx, healthWindow("e1", healthT0, time.Millisecond, 1, health.OK))
		}},
		{"(*TenancyStore).PutGrant", func() error {
			return st.Tenancy.PutGrant(ctx, tenancy.Grant{Org: "org-a", Subject: "bob", Role: tenancy.Manager, GrantedAt: now})
		}},
		{"(*TenancyStore).AppendAudit", func() error {
			return st.Tenancy.AppendAudit(ctx, tenancy.Entry{ID: "a1", Org: "org-a", At: now, Actor: "org-a", Action: tenancy.ActionGrant})
		}},
		{"(*RateLimitStore).Hit", func() error {
			_, err := st.RateLimit.Hit(ctx, "admission", "fan-1", now, now.Add(time.Minute), 3)
			return err
		}},
		{"(*MailStore).ClaimMail", func() error {
			_, err := st.Mail.ClaimMail(ctx, "o1", mail.OrderConfirmation, now, now.Add(time.Minute))
			return err
		}},
		{"(*MailStore).MailsSent", func() error {
			return st.Mail.MailsSent(ctx, []mail.SentCause{{Cause: "o1", Kind: mail.OrderConfirmation}}, now)
		}},
		{"(*MailStore).ReleaseMail", func() error { return st.Mail.ReleaseMail(ctx, "o1", mail.OrderConfirmation) }},
		{"(*PresaleStore).PutCodes", func() error {
			return st.Presale.PutCodes(ctx, []presale.Code{{EventID: "e1", Hash: "h1", Hint: "ABCD", Uses: 1, CreatedAt: now}})
		}},
		{"(*PresaleStore).Redeem", func() error { _, err := st.Presale.Redeem(ctx, "e1", "h1", "fan-1", now); return err }},
		{"(*WaitlistStore).NextWaitlistSeq", func() error { _, err := st.Waitlist.NextWaitlistSeq(ctx, "e1"); return err }},
		{"(*WaitlistStore).PutWaitlistEntry", func() error {
			_, _, err := st.Waitlist.PutWaitlistEntry(ctx, waitlist.Entry{EventID: "e1", Account: "fan-1", Seq: 1, Quantity: 1, Status: waitlist.Waiting})
			return err
		}},
		{"(*WaitlistStore).LeaveWaitlist", func() error { return st.Waitlist.LeaveWaitlist(ctx, "e1", "fan-1", now) }},
		{"(*WaitlistStore).SetWaitlistWindow", func() error { return st.Waitlist.SetWaitlistWindow(ctx, "e1", 10) }},
		{"(*WaitlistStore).ExpireWaitlistOffer", func() error { return st.Waitlist.ExpireWaitlistOffer(ctx, "e1", "fan-1", "wl-1", now) }},
		{"(*WaitlistStore).UseWaitlistOffer", func() error { return st.Waitlist.UseWaitlistOffer(ctx, "e1", "fan-1", "wl-1", now) }},
		{"(*WaitlistStore).SaveWaitlistCount", func() error { return st.Waitlist.SaveWaitlistCount(ctx, "e1", 1, 0, 1) }},
		{"(*CancellationStore).StartCancellation", func() error { _, err := st.Cancellation.StartCancellation(ctx, "e1", []byte(`{}`)); return err }},
		{"(*CancellationStore).LeaseCancellation", func() error {
			_, err := st.Cancellation.LeaseCancellation(ctx, "e1", now, now.Add(time.Minute))
			return err
		}},
		{"(*CancellationStore).SaveCancellation", func() error { return st.Cancellation.SaveCancellation(ctx, "e1", []byte(`{}`)) }},
		{"(*CancellationStore).LeasePostponement", func() error {
			_, err := st.Cancellation.LeasePostponement(ctx, "e1", now, now.Add(time.Minute))
			return err
		}},
		{"(*CancellationStore).SavePostponement", func() error { return st.Cancellation.SavePostponement(ctx, "e1", []byte(`{}`)) }},
	}
	declared := dynamo.SingleItemWrites()
	for _, c := range calls {
		rec.during(c.method, func() {
			// Conditions may fail here (the order does not exist, the
			// state's version differs): only the request's key counts.
			_ = c.run()
		})
		if _, ok := declared[c.method]; !ok {
			t.Errorf("%s is exercised here but not declared in SingleItemWrites", c.method)
		}
	}
	for m, want := range declared {
		got := slices.Sorted(func(yield func(string) bool) {
			for p := range rec.got[m] {
				if !yield(p) {
					return
				}
			}
		})
		w := slices.Clone(want)
		sort.Strings(w)
		if !slices.Equal(got, w) {
			t.Errorf("%s wrote partitions %v outside transactions; SingleItemWrites declares %v", m, got, w)
		}
	}
	if len(rec.stray) > 0 {
		t.Errorf("writes outside any exercised method: %v", rec.stray)
	}
	// AND the declaration reached the real table: the event exists.
	if _, err := st.Catalog.GetEvent(ctx, "e1"); err != nil {
		t.Fatalf("GetEvent after the run: %v", err)
	}
}
