package mail

import (
	"bytes"
	htmltemplate "html/template"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/pricing"
	"github.com/stararena/stararena/internal/ticketqr"
	"github.com/stararena/stararena/internal/tickets"
)

// pieces are what random values are made of: plain text, every character
// html/template escapes somewhere, URL schemes and escapes, non-ASCII and
// invalid UTF-8.
var pieces = []string{"a", "Z", "0", " ", "Stars", "<", ">", "&", "'", `"`, "+", "\x00", "é", "€", "%", "%41", "%zz", ":", "/",
	"?", "#", "=", "(", ")", "\n", "\xff", "javascript:", "https:", "HTTP:", "mailto:", "data:", "\uFDD0", "{{.Event}}", "`", "&amp;"}

func randomString(r *rand.Rand) string {
	var b strings.Builder
	for range r.IntN(8) {
		b.WriteString(pieces[r.IntN(len(pieces))])
	}
	return b.String()
}

// randomLink is a link as the site's configuration and the ids make it, or
// anything at all.
func randomLink(r *rand.Rand) string {
	switch r.IntN(3) {
	case 0:
		return "https://tickets.example/?order=" + randomString(r)
	case 1:
		return randomString(r) + "/?mine"
	}
	return randomString(r)
}

// refConfirmation is the confirmation's view as the template took it: the
// image's URL typed, as html/template needed.
type refConfirmation struct {
	confirmationView
	Tickets []refTicket
}

type refTicket struct {
	Place string
	Src   htmltemplate.URL
}

// run executes a text or HTML template on data.
func run(t *testing.T, exec func(*bytes.Buffer) error) string {
	t.Helper()
	var b bytes.Buffer
	if err := exec(&b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The messages written in plain Go are, byte for byte, what the templates
// they replace rendered, on random values made of everything the
// templates escaped, filtered or passed through.
func TestMessagesMatchTheTemplates(t *testing.T) {
	r := rand.New(rand.NewPCG(19, 2026))
	s := func() string { return randomString(r) }
	opt := func() string { // a field a template tested with {{if}}
		if r.IntN(2) == 0 {
			return ""
		}
		return s()
	}
	same := func(what, got, want string) {
		t.Helper()
		if got != want {
			t.Fatalf("%s differs from its template's:\n got %q\nwant %q", what, got, want)
		}
	}
	for range 400 {
		cv := confirmationView{Event: s(), Venue: s(), Starts: s(), OrderID: s(), Link: randomLink(r), Total: s(), LiveOnly: r.IntN(2) == 0,
			Seller: s(), Face: s(), Fees: opt(), Tax: opt(), TaxAmt: s(), Paid: opt(), Payment: opt()}
		ref := refConfirmation{}
		for range r.IntN(3) {
			cv.Items = append(cv.Items, receiptLine{What: s(), Amount: s()})
		}
		for i := range r.IntN(3) {
			tv := ticketView{Place: s(), Src: "cid:ticket-" + string(rune('1'+i)) + "@stararena"}
			cv.Tickets = append(cv.Tickets, tv)
			ref.Tickets = append(ref.Tickets, refTicket{Place: tv.Place, Src: htmltemplate.URL(tv.Src)})
		}
		ref.confirmationView = cv
		same("confirmation text", cv.text(), run(t, func(b *bytes.Buffer) error { return refConfirmationText.Execute(b, ref) }))
		same("confirmation html", cv.html(), run(t, func(b *bytes.Buffer) error { return refConfirmationHTML.Execute(b, ref) }))

		nv := noticeView{Event: s(), Venue: s(), OrderID: s(), Link: randomLink(r), Total: s(), Reason: s(), Starts: s(), Was: s(), RefundUntil: s()}
		for _, k := range []Kind{EventCancelled, EventPostponed} {
			same(string(k)+" text", nv.text(k), run(t, func(b *bytes.Buffer) error { return refNoticeText[k].Execute(b, nv) }))
			same(string(k)+" html", nv.html(k), run(t, func(b *bytes.Buffer) error { return refNoticeHTML[k].Execute(b, nv) }))
		}

		ov := offerView{Event: s(), Venue: s(), Starts: s(), Until: s(), Link: randomLink(r), Quantity: r.IntN(12) - 1}
		same("offer text", ov.text(), run(t, func(b *bytes.Buffer) error { return refOfferText.Execute(b, ov) }))
		same("offer html", ov.html(), run(t, func(b *bytes.Buffer) error { return refOfferHTML.Execute(b, ov) }))

		tv := transferView{Event: s(), Venue: s(), Starts: s(), Seat: s(), From: s(), AcceptedBy: s(), Link: randomLink(r)}
		for _, k := range []Kind{TransferOffer, TransferAccepted} {
			same(string(k)+" text", tv.text(k), run(t, func(b *bytes.Buffer) error { return refTransferText[k].Execute(b, tv) }))
			same(string(k)+" html", tv.html(k), run(t, func(b *bytes.Buffer) error { return refTransferHTML[k].Execute(b, tv) }))
		}
	}
}

// hostile is a value a fan or an organizer could type, marked with what
// it is; escaped is how the HTML must show it.
func hostile(field string) string { return `<b id="` + field + `">` + field + `'&+</b>` }

func escaped(field string) string {
	return `&lt;b id=&#34;` + field + `&#34;&gt;` + field + `&#39;&amp;&#43;&lt;/b&gt;`
}

// Every value a message shows that someone other than StarArena typed
// (the event's name and venue, the seller, the sections, the seats, the
// cancellation's reason, the fans' addresses in a transfer) is escaped in
// its HTML part, and a link the site's address would turn into script is
// refused.
func TestEveryTypedValueIsEscapedInTheHTML(t *testing.T) {
	starts := time.Date(2027, 6, 1, 20, 0, 0, 0, time.UTC)
	ev := catalog.Event{ID: "e-1", Name: hostile("event"), Venue: hostile("venue"), Org: hostile("org"), StartsAt: starts,
		Sections: []catalog.Section{{ID: "A", Name: hostile("section"), Kind: catalog.Reserved, PriceCents: 4500, Currency: "EUR"}},
		Pricing:  &pricing.Pricing{FeeCents: 100, Seller: hostile("seller")}}
	o := orders.Order{ID: "o-1", EventID: "e-1", Email: "ana@example.org", Currency: "EUR", Status: orders.Issued,
		Seats: []string{"A-" + hostile("seat")}, PaymentID: hostile("payment")}
	o.SetPrice(ev.Pricing.Price(4500, 1))
	ts := []tickets.IssuedTicket{{Ticket: tickets.Ticket{ID: "t1", Seat: hostile("place")}, Status: tickets.StatusValid, Code: "C1"}}

	check := func(what, html string, fields ...string) {
		t.Helper()
		if strings.Contains(html, "<b id") || strings.Contains(html, "</b>") {
			t.Errorf("%s: a typed value's markup is in the HTML:\n%s", what, html)
		}
		for _, f := range fields {
			if !strings.Contains(html, escaped(f)) {
				t.Errorf("%s: the HTML does not show %s escaped (%s):\n%s", what, f, escaped(f), html)
			}
		}
	}
	m, err := Confirmation(o, ev, ts, "https://tickets.example/", ticketqr.Render)
	if err != nil {
		t.Fatal(err)
	}
	check("confirmation", m.HTML, "event", "venue", "seller", "section", "seat", "payment", "place")
	ev.Pricing.Seller = ""
	if m, err = Confirmation(o, ev, ts, "https://tickets.example/", ticketqr.Render); err != nil {
		t.Fatal(err)
	}
	check("confirmation sold by the organization", m.HTML, "org")

	cancelled := ev
	cancelled.Cancelled = &catalog.Cancellation{Reason: hostile("reason")}
	if m, err = Notice(EventCancelled, o, cancelled, "https://tickets.example/"); err != nil {
		t.Fatal(err)
	}
	check("cancellation", m.HTML, "event", "reason")
	postponed := ev
	postponed.Postponed = &catalog.Postponement{From: starts.Add(-time.Hour), RefundUntil: starts}
	if m, err = Notice(EventPostponed, o, postponed, "https://tickets.example/"); err != nil {
		t.Fatal(err)
	}
	check("postponement", m.HTML, "event", "venue")

	if m, err = OfferMessage(OfferNotice{To: "ana@example.org", Account: "fan-1", Event: ev, Quantity: 2, ExpiresAt: starts, OfferID: "w-1"},
		"https://tickets.example/"); err != nil {
		t.Fatal(err)
	}
	check("offer", m.HTML, "event", "venue")

	for _, k := range []Kind{TransferOffer, TransferAccepted} {
		n := TransferNotice{To: "bo@example.org", TransferID: "x-1", Event: ev, Seat: hostile("seat"), From: hostile("from"), AcceptedBy: hostile("accepter")}
		if m, err = TransferMessage(k, n, "https://tickets.example/"); err != nil {
			t.Fatal(err)
		}
		who := "from"
		if k == TransferAccepted {
			who = "accepter"
		}
		check(string(k), m.HTML, "event", "venue", "seat", who)
	}

	// A site address of another scheme never becomes a link that runs.
	if m, err = Notice(EventCancelled, o, cancelled, "javascript:alert(1)//"); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(m.HTML, "javascript:") || !strings.Contains(m.HTML, `href="#ZgotmplZ"`) {
		t.Errorf("a javascript: site address is a link in the HTML:\n%s", m.HTML)
	}
}
