package mail

import (
	"fmt"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/orders"
)

// noticeView is what both parts of a cancellation or postponement notice
// show.
type noticeView struct {
	Event       string
	Venue       string
	OrderID     string
	Link        string
	Total       string
	Reason      string
	Starts      string // the new date (postponed)
	Was         string // the old date (postponed)
	RefundUntil string // the refund window's end (postponed)
}

var noticeSubject = map[Kind]string{
	EventCancelled: "Cancelled: %s — your order is refunded",
	EventPostponed: "New date for %s",
}

const dateLayout = "Mon 2 Jan 2006, 15:04 MST"

// Notice renders the cancellation or postponement notice of order o.
func Notice(kind Kind, o orders.Order, ev catalog.Event, siteURL string) (Message, error) {
	subject, ok := noticeSubject[kind]
	if !ok {
		return Message{}, fmt.Errorf("no notice of kind %q", kind)
	}
	v := noticeView{Event: ev.Name, Venue: ev.Venue, OrderID: o.ID, Link: orderLink(siteURL, o.ID),
		Total: money(o.AmountCents, o.Currency), Starts: ev.StartsAt.UTC().Format(dateLayout)}
	if ev.Cancelled != nil {
		v.Reason = ev.Cancelled.Reason
	}
	if ev.Postponed != nil {
		v.Was = ev.Postponed.From.UTC().Format(dateLayout)
		v.RefundUntil = ev.Postponed.RefundUntil.UTC().Format(time.RFC1123)
	}
	return Message{To: o.Email, Subject: fmt.Sprintf(subject, ev.Name), Text: v.text(kind), HTML: v.html(kind),
		OrderID: o.ID, Kind: kind, Account: o.Account}, nil
}
