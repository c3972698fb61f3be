package dynamo_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/testenv"
)

// A cause is claimed by one delivery at a time, never again once sent, and
// again after a release or once its lease ran out.
func TestMailMarkersClaimACauseOnce(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	st := dynamo.NewStores(db, table, nil).Mail
	now := time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC)
	lease := now.Add(time.Minute)
	claim := func(at time.Time) mail.Claim {
		t.Helper()
		c, err := st.ClaimMail(ctx, "o-1", mail.OrderConfirmation, at, at.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	// 20 concurrent deliveries of one cause: exactly one claims it.
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := map[mail.Claim]int{}
	for range 20 {
		wg.Go(func() {
			c, err := st.ClaimMail(ctx, "o-1", mail.OrderConfirmation, now, lease)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got[c]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if got[mail.Claimed] != 1 || got[mail.Busy] != 19 {
		t.Fatalf("claims = %v, want 1 claimed and 19 busy", got)
	}
	if c := claim(now.Add(30 * time.Second)); c != mail.Busy {
		t.Fatalf("within the lease: %v, want busy", c)
	}
	if c := claim(now.Add(2 * time.Minute)); c != mail.Claimed {
		t.Fatalf("after the lease: %v, want claimed (its holder is gone)", c)
	}
	if err := st.ReleaseMail(ctx, "o-1", mail.OrderConfirmation); err != nil {
		t.Fatal(err)
	}
	if c := claim(now.Add(2 * time.Minute)); c != mail.Claimed {
		t.Fatalf("after a release: %v, want claimed", c)
	}
	if err := st.MailsSent(ctx, []mail.SentCause{{Cause: "o-1", Kind: mail.OrderConfirmation}}, now); err != nil {
		t.Fatal(err)
	}
	if err := st.ReleaseMail(ctx, "o-1", mail.OrderConfirmation); err != nil {
		t.Fatalf("release of a sent cause: %v, want a no-op", err)
	}
	if c := claim(now.Add(time.Hour)); c != mail.AlreadySent {
		t.Fatalf("after sending: %v, want already sent", c)
	}
	// Another kind of the same order is another cause.
	if c, err := st.ClaimMail(ctx, "o-1", mail.Kind("other"), now, lease); err != nil || c != mail.Claimed {
		t.Fatalf("another kind: %v, %v", c, err)
	}
}

// A batch's sent marks are written together, more than one BatchWriteItem
// holds: every cause is SENT afterwards, and one that was never marked is
// not.
func TestMailsSentMarksEveryCauseOfABatch(t *testing.T) {
	ctx := context.Background()
	db, table := testenv.DynamoDB(t)
	st := dynamo.NewStores(db, table, nil).Mail
	now := time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC)
	var causes []mail.SentCause
	for i := range 30 {
		c := mail.SentCause{Cause: fmt.Sprintf("o-%d", i), Kind: mail.OrderConfirmation}
		if got, err := st.ClaimMail(ctx, c.Cause, c.Kind, now, now.Add(time.Minute)); err != nil || got != mail.Claimed {
			t.Fatalf("claim %s: %v, %v", c.Cause, got, err)
		}
		causes = append(causes, c)
	}
	if err := st.MailsSent(ctx, causes, now); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Hour) // every lease has run out: only SENT refuses
	for _, c := range causes {
		if got, err := st.ClaimMail(ctx, c.Cause, c.Kind, later, later.Add(time.Minute)); err != nil || got != mail.AlreadySent {
			t.Fatalf("%s after the batch's marks: %v, %v; want already sent", c.Cause, got, err)
		}
	}
	if got, err := st.ClaimMail(ctx, "o-30", mail.OrderConfirmation, later, later.Add(time.Minute)); err != nil || got != mail.Claimed {
		t.Fatalf("a cause outside the batch: %v, %v; want claimed", got, err)
	}
}
