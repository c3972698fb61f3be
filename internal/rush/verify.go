package rush

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/payments"
)

// Invariants are the design's promises checked on what was stored: every
// seat item, GA shard, order, ticket and the provider's payments.
type Invariants struct {
	Passed   bool     `json:"passed"`
	Failures []string `json:"failures"`

	// I1 no oversell.
	Oversold             int      `json:"oversold"` // places sold beyond one per seat or a section's capacity
	SeatsSoldTwice       []string `json:"seatsSoldTwice,omitempty"`
	SectionsOverCapacity []string `json:"sectionsOverCapacity,omitempty"`
	SoldSeatsNotIssued   int      `json:"soldSeatsWithoutIssuedOrder"` // SOLD seat item whose order is not ISSUED or does not list it
	IssuedSeatsNotSold   int      `json:"issuedSeatsNotSold"`          // ISSUED order's seat not SOLD to it
	HeldSeatsLeft        int      `json:"heldPlacesLeft"`              // HELD seats or GA places after everything settled
	GAMismatch           []string `json:"gaMismatch,omitempty"`        // shard totals vs ISSUED orders
	// I2 money ↔ tickets.
	ChargedWithoutTicket     int `json:"chargedWithoutTicket"`
	DoubleChargesNotRefunded int `json:"doubleChargesNotRefunded"`
	TicketsWithoutPayment    int `json:"ticketsWithoutPayment"`
	TicketCountMismatch      int `json:"issuedOrdersWithWrongTicketCount"`
	// ChargedNotOrderTotal counts captured payments whose amount is not
	// their order's total, and orders whose breakdown is not the event's
	// pricing of their face value (ADR 26).
	ChargedNotOrderTotal int `json:"chargedNotOrderTotal"`
	// I3 liveness.
	OrdersNotTerminal int            `json:"ordersNotTerminal"`
	NotTerminal       map[string]int `json:"notTerminalByStatus,omitempty"`
	ReconcilerQuiet   bool           `json:"reconcilerQuiet"`
	// I4 per-account limit.
	AccountsOverLimit int `json:"accountsOverLimit"`
	// Orders the fans were given that the event's order index does not list.
	OrdersMissingFromIndex int `json:"ordersMissingFromIndex"`
}

// verified is what verify read, for the report.
type verified struct {
	inv          Invariants
	orders       map[string]orders.Order
	seatsSold    int // reserved seats SOLD
	gaSold       int
	validTickets int
	payments     []payments.Payment
	captured     int
	refunded     int
	refundRoles  map[string]int
	capacity     int
}

func (s *sim) verify(ctx context.Context) (*verified, error) {
	a := s.st.App
	v := &verified{orders: map[string]orders.Order{}, refundRoles: map[string]int{}}
	inv := &v.inv
	fail := func(format string, args ...any) { inv.Failures = append(inv.Failures, fmt.Sprintf(format, args...)) }

	ev, err := a.Catalog.Get(ctx, s.eventID)
	if err != nil {
		return nil, err
	}
	v.capacity = ev.Capacity
	// Every order: the event's index, and every id a fan was given
	// (strongly consistent reads).
	indexed, err := a.Stores.Reports.EventOrders(ctx, s.eventID)
	if err != nil {
		return nil, err
	}
	inIndex := map[string]bool{}
	for _, o := range indexed {
		inIndex[o.ID] = true
	}
	s.ordersMu.Lock()
	ids := append([]string(nil), s.orders...)
	s.ordersMu.Unlock()
	for _, id := range ids {
		if !inIndex[id] {
			inv.OrdersMissingFromIndex++
		}
	}
	for _, o := range indexed {
		ids = append(ids, o.ID)
	}
	for start := 0; start < len(ids); start += 1000 {
		got, err := a.Stores.Reconcile.OrdersByID(ctx, ids[start:min(start+1000, len(ids))])
		if err != nil {
			return nil, err
		}
		for id, o := range got {
			v.orders[id] = o
		}
	}
	if len(v.orders) < len(s.orders) {
		fail("%d orders made, %d found", len(s.orders), len(v.orders))
	}

	// Tickets of every order.
	type orderTickets struct {
		valid, revoked int
		seats          map[string]bool
	}
	tix := make(map[string]orderTickets, len(v.orders))
	{
		var mu sync.Mutex
		var wg sync.WaitGroup
		work := make(chan string)
		errs := make(chan error, 8)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range work {
					_, ts, _, err := a.Stores.Tickets.OrderTickets(ctx, id)
					if err != nil {
						select {
						case errs <- err:
						default:
						}
						continue
					}
					ot := orderTickets{seats: map[string]bool{}}
					for _, t := range ts {
						if t.RevokedAt.IsZero() {
							ot.valid++
							ot.seats[t.Seat] = true
						} else {
							ot.revoked++
						}
					}
					mu.Lock()
					tix[id] = ot
					mu.Unlock()
				}
			}()
		}
		for id := range v.orders {
			work <- id
		}
		close(work)
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			return nil, fmt.Errorf("tickets: %w", err)
		}
	}

	// The provider's payments.
	ps, err := s.st.Sandbox.PaymentsSince(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	v.payments = ps
	capturedFor := map[string][]payments.Payment{} // order → captured payments not refunded
	for _, p := range ps {
		if !p.Paid() {
			continue
		}
		v.captured++
		if p.AmountRefundedCents >= p.AmountCents {
			v.refunded++
			rec, ok, err := a.Stores.Orders.GetPayment(ctx, "sandbox", p.ID)
			role := "UNRECORDED"
			if err == nil && ok {
				role = string(rec.Role)
			}
			v.refundRoles[role]++
			continue
		}
		capturedFor[p.OrderID] = append(capturedFor[p.OrderID], p)
	}
	for _, p := range ps {
		o, ok := v.orders[p.OrderID]
		if p.Paid() && ok && (p.AmountCents != o.AmountCents || o.Breakdown() != rushPricing().Price(o.FaceCents, o.Places())) {
			inv.ChargedNotOrderTotal++
		}
	}

	// I2: every captured payment not refunded pays one ISSUED order that
	// has its tickets; no order keeps two; tickets only for such orders.
	for orderID, list := range capturedFor {
		if len(list) > 1 {
			inv.DoubleChargesNotRefunded++
		}
		o, ok := v.orders[orderID]
		for _, p := range list {
			if !ok || o.Status != orders.Issued || o.PaymentID != p.ID || tix[orderID].valid != o.Places() {
				inv.ChargedWithoutTicket++
			}
		}
	}
	for id, o := range v.orders {
		t := tix[id]
		v.validTickets += t.valid
		if t.valid == 0 {
			continue
		}
		paid := false
		for _, p := range capturedFor[id] {
			paid = paid || p.ID == o.PaymentID
		}
		if o.Status != orders.Issued || !paid {
			inv.TicketsWithoutPayment += t.valid
		}
		if o.Status == orders.Issued && (t.valid != o.Places() || (len(o.Seats) > 0 && len(t.seats) != len(o.Seats))) {
			inv.TicketCountMismatch++
		}
	}
	if inv.DoubleChargesNotRefunded > 0 {
		fail("%d orders charged twice without a refund", inv.DoubleChargesNotRefunded)
	}
	if inv.ChargedNotOrderTotal > 0 {
		fail("%d captured payments not charging their order's total, or orders priced otherwise than the event", inv.ChargedNotOrderTotal)
	}
	if inv.ChargedWithoutTicket > 0 {
		fail("%d captured payments neither refunded nor paying an issued order with its tickets", inv.ChargedWithoutTicket)
	}
	if inv.TicketsWithoutPayment > 0 {
		fail("%d valid tickets without a captured, unrefunded payment", inv.TicketsWithoutPayment)
	}
	if inv.TicketCountMismatch > 0 {
		fail("%d issued orders with the wrong tickets", inv.TicketCountMismatch)
	}

	// I3: every order terminal.
	inv.NotTerminal = map[string]int{}
	for _, o := range v.orders {
		if !o.Status.Terminal() {
			inv.OrdersNotTerminal++
			inv.NotTerminal[string(o.Status)]++
		}
	}
	if inv.OrdersNotTerminal > 0 {
		fail("%d orders not terminal: %v", inv.OrdersNotTerminal, inv.NotTerminal)
	}

	// I4: per account, places held or bought at most the limit.
	perAccount := map[string]int{}
	for _, o := range v.orders {
		if o.Status == orders.Issued || o.Status == orders.Paid || o.Status == orders.IssueFailed || o.Status == orders.PendingPayment {
			perAccount[o.Account] += o.Places()
		}
	}
	for _, n := range perAccount {
		if n > ev.MaxTicketsPerAccount {
			inv.AccountsOverLimit++
		}
	}
	if inv.AccountsOverLimit > 0 {
		fail("%d accounts over the limit of %d", inv.AccountsOverLimit, ev.MaxTicketsPerAccount)
	}

	// I1: the stored seats and shards against the orders.
	issuedBySeat := map[string][]string{}
	gaIssued := map[string]int{}
	for id, o := range v.orders {
		if o.Status != orders.Issued {
			continue
		}
		for _, seat := range o.Seats {
			issuedBySeat[seat] = append(issuedBySeat[seat], id)
		}
		if len(o.Seats) == 0 {
			gaIssued[o.Section] += o.Quantity
		}
	}
	for seat, os := range issuedBySeat {
		if len(os) > 1 {
			inv.SeatsSoldTwice = append(inv.SeatsSoldTwice, seat)
			inv.Oversold += len(os) - 1
		}
	}
	sort.Strings(inv.SeatsSoldTwice)
	seatIDs := s.layout.seatIDs()
	holders, err := a.Stores.Inventory.SeatHolders(ctx, s.eventID, seatIDs)
	if err != nil {
		return nil, err
	}
	for i := range ev.Sections {
		sec := &ev.Sections[i]
		if sec.Kind == catalog.GA {
			avail, held, sold, err := a.Stores.Catalog.GACounts(ctx, s.eventID, sec.ID, len(catalog.GAShardCapacities(sec.Capacity)))
			if err != nil {
				return nil, err
			}
			v.gaSold += sold
			inv.HeldSeatsLeft += held
			if sold+held > sec.Capacity {
				inv.SectionsOverCapacity = append(inv.SectionsOverCapacity, fmt.Sprintf("%s: %d sold + %d held > %d", sec.ID, sold, held, sec.Capacity))
				inv.Oversold += sold + held - sec.Capacity
			}
			if avail+held+sold != sec.Capacity || sold != gaIssued[sec.ID] {
				inv.GAMismatch = append(inv.GAMismatch, fmt.Sprintf("%s: shards %d available + %d held + %d sold (capacity %d); issued orders hold %d",
					sec.ID, avail, held, sold, sec.Capacity, gaIssued[sec.ID]))
			}
			if gaIssued[sec.ID] > sec.Capacity {
				inv.SectionsOverCapacity = append(inv.SectionsOverCapacity, fmt.Sprintf("%s: issued orders hold %d > %d", sec.ID, gaIssued[sec.ID], sec.Capacity))
				inv.Oversold += gaIssued[sec.ID] - sec.Capacity
			}
			continue
		}
		sold, held, issued := 0, 0, 0
		for _, seat := range sec.SeatIDs() {
			h, ok := holders[seat]
			if !ok {
				fail("seat %s has no item", seat)
				continue
			}
			switch h.State {
			case catalog.SeatSold:
				sold++
				os := issuedBySeat[seat]
				if len(os) != 1 || os[0] != h.OrderID {
					inv.SoldSeatsNotIssued++
				}
			case catalog.SeatHeld:
				held++
			}
			if len(issuedBySeat[seat]) > 0 {
				issued++
				if h.State != catalog.SeatSold || h.OrderID != issuedBySeat[seat][0] {
					inv.IssuedSeatsNotSold++
				}
			}
		}
		v.seatsSold += sold
		inv.HeldSeatsLeft += held
		if sold+held > sec.Capacity || issued > sec.Capacity {
			inv.SectionsOverCapacity = append(inv.SectionsOverCapacity, fmt.Sprintf("%s: %d sold + %d held, %d issued, capacity %d", sec.ID, sold, held, issued, sec.Capacity))
			inv.Oversold += max(sold+held, issued) - sec.Capacity
		}
	}
	if inv.Oversold > 0 {
		fail("oversold by %d places (seats %v, sections %v)", inv.Oversold, head(inv.SeatsSoldTwice, 5), inv.SectionsOverCapacity)
	}
	if inv.SoldSeatsNotIssued > 0 || inv.IssuedSeatsNotSold > 0 {
		fail("seat items and issued orders disagree: %d SOLD seats without their issued order, %d issued seats not SOLD to the order",
			inv.SoldSeatsNotIssued, inv.IssuedSeatsNotSold)
	}
	if len(inv.GAMismatch) > 0 {
		fail("GA shards and orders disagree: %v", inv.GAMismatch)
	}
	if inv.HeldSeatsLeft > 0 {
		fail("%d places still held after every order settled", inv.HeldSeatsLeft)
	}
	if inv.OrdersMissingFromIndex > 0 {
		fail("%d orders missing from the event's order index", inv.OrdersMissingFromIndex)
	}
	return v, nil
}

func head(s []string, n int) []string { return s[:min(len(s), n)] }
