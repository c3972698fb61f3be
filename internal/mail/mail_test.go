package mail

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	netmail "net/mail"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/pricing"
	"github.com/stararena/stararena/internal/ticketqr"
	"github.com/stararena/stararena/internal/tickets"
)

func confirmation(t *testing.T) Message {
	t.Helper()
	o := orders.Order{ID: "o-1", EventID: "e-1", Email: "ana@example.org", AmountCents: 9050, Currency: "eur", Status: orders.Issued}
	ev := catalog.Event{ID: "e-1", Name: "Stars & <Stripes>", Venue: "Hall", StartsAt: time.Date(2027, 6, 1, 20, 0, 0, 0, time.UTC)}
	ts := []tickets.IssuedTicket{
		{Ticket: tickets.Ticket{ID: "t1", Seat: "A-1-1"}, Status: tickets.StatusValid, Code: "CODE-ONE"},
		{Ticket: tickets.Ticket{ID: "t2", Seat: "A-1-2"}, Status: tickets.StatusRevoked},
		{Ticket: tickets.Ticket{ID: "t3", Seat: "A-1-3"}, Status: tickets.StatusUsed, Code: "CODE-THREE"},
	}
	m, err := Confirmation(o, ev, ts, "https://tickets.example/", ticketqr.Render)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The confirmation carries one QR image per ticket that still admits, the
// link to the order, the total, and escapes what the organizer typed.
func TestConfirmationRendersTheTicketsAndTheLink(t *testing.T) {
	m := confirmation(t)
	if m.To != "ana@example.org" || m.Subject != "Your tickets for Stars & <Stripes>" || m.Kind != OrderConfirmation || m.OrderID != "o-1" {
		t.Fatalf("message %+v", m)
	}
	if len(m.Images) != 2 {
		t.Fatalf("%d images, want the 2 tickets that are not revoked", len(m.Images))
	}
	for _, img := range m.Images {
		if !bytes.HasPrefix(img.PNG, []byte("\x89PNG\r\n\x1a\n")) {
			t.Errorf("image %s is not a PNG", img.CID)
		}
		if !strings.Contains(m.HTML, `src="cid:`+img.CID+`"`) {
			t.Errorf("the HTML does not show image %s", img.CID)
		}
	}
	for _, part := range []string{m.Text, m.HTML} {
		for _, want := range []string{"https://tickets.example/?order=o-1", "90.50 EUR", "A-1-1", "A-1-3"} {
			if !strings.Contains(part, want) {
				t.Errorf("a part lacks %q", want)
			}
		}
		if strings.Contains(part, "A-1-2") {
			t.Error("the revoked ticket is in the message")
		}
	}
	if strings.Contains(m.HTML, "<Stripes>") || !strings.Contains(m.HTML, "&lt;Stripes&gt;") {
		t.Error("the event name is not escaped in the HTML")
	}
	if data := m.DataURLs(); strings.Contains(data, "cid:") || strings.Count(data, "data:image/png;base64,") != 2 {
		t.Error("DataURLs left a cid: reference")
	}
}

// At an event whose gates take only the live code (ADR 28), the
// confirmation carries no code that the gate would refuse: no image, and
// each ticket says where its live code is.
func TestConfirmationOfALiveCodesOnlyEventCarriesNoCode(t *testing.T) {
	o := orders.Order{ID: "o-1", EventID: "e-1", Email: "ana@example.org", AmountCents: 3000, Currency: "eur", Status: orders.Issued}
	ev := catalog.Event{ID: "e-1", Name: "Live", Venue: "Hall", StartsAt: time.Date(2027, 6, 1, 20, 0, 0, 0, time.UTC),
		TicketCodes: catalog.CodesRotatingOnly}
	ts := []tickets.IssuedTicket{{Ticket: tickets.Ticket{ID: "t1", Seat: "A-1-1"}, Status: tickets.StatusValid, Code: "CODE-ONE"}}
	m, err := Confirmation(o, ev, ts, "https://tickets.example/", ticketqr.Render)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Images) != 0 || strings.Contains(m.HTML, "cid:") {
		t.Fatalf("%d images in a live-codes-only confirmation, want none", len(m.Images))
	}
	for _, part := range []string{m.Text, m.HTML} {
		for _, want := range []string{"A-1-1", "live code", "https://tickets.example/?order=o-1"} {
			if !strings.Contains(part, want) {
				t.Errorf("a part lacks %q", want)
			}
		}
		if strings.Contains(part, "CODE-ONE") {
			t.Error("the static code is in the message")
		}
	}
}

// The raw message SES sends parses back into its headers, the two
// alternatives and the inline images under their Content-IDs.
func TestMIMEIsMultipartRelatedWithInlineImages(t *testing.T) {
	m := confirmation(t)
	raw, err := m.MIME("tickets@stararena.example")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || subject != m.Subject || msg.Header.Get("To") != m.To || msg.Header.Get("From") != "tickets@stararena.example" {
		t.Fatalf("headers %v (subject %q, %v)", msg.Header, subject, err)
	}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || typ != "multipart/related" {
		t.Fatalf("content type %q, %v", typ, err)
	}
	parts := multipart.NewReader(msg.Body, params["boundary"])
	alt, err := parts.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	atyp, aparams, _ := mime.ParseMediaType(alt.Header.Get("Content-Type"))
	if atyp != "multipart/alternative" {
		t.Fatalf("first part %q, want the alternatives", atyp)
	}
	inner := multipart.NewReader(alt, aparams["boundary"])
	for _, want := range []string{"text/plain", "text/html"} {
		p, err := inner.NextPart() // decodes quoted-printable
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(p)
		if !strings.HasPrefix(p.Header.Get("Content-Type"), want) || !strings.Contains(string(body), "?order=o-1") {
			t.Errorf("part %q: %.80s", p.Header.Get("Content-Type"), body)
		}
	}
	cids := map[string]bool{}
	for {
		p, err := parts.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Type") != "image/png" {
			t.Errorf("inline part of type %q", p.Header.Get("Content-Type"))
		}
		cids[strings.Trim(p.Header.Get("Content-ID"), "<>")] = true
	}
	for _, img := range m.Images {
		if !cids[img.CID] {
			t.Errorf("image %s is not in the message", img.CID)
		}
	}
	if _, err := (Message{To: "a@b.c\r\nBcc: x@y.z"}).MIME("t@s.e"); err == nil {
		t.Error("a header injection was rendered")
	}
}

func TestParseRequest(t *testing.T) {
	r := Request{OrderID: "o-1", Kind: OrderConfirmation}
	got, err := ParseRequest(r.Body())
	if err != nil || !reflect.DeepEqual(got, r) {
		t.Fatalf("round trip %+v, %v", got, err)
	}
	tr := Request{Kind: TransferOffer, TransferID: "t-1", EventID: "e-1"}
	if got, err := ParseRequest(tr.Body()); err != nil || !reflect.DeepEqual(got, tr) || got.Cause() != "t-1" {
		t.Fatalf("transfer round trip %+v, %v", got, err)
	}
	// A confirmation carries the issued order (without its task token) and
	// its ticket ids.
	o := orders.Order{ID: "o-2", EventID: "e-1", Status: orders.Issued, Seats: []string{"A-1-1"}, Email: "f@example.test",
		AmountCents: 5000, Currency: "eur", TaskToken: "secret-token", PaidAt: time.Date(2027, 5, 1, 20, 0, 0, 0, time.UTC)}
	c := ConfirmationOf(o, []string{"t-a"})
	got, err = ParseRequest(c.Body())
	if err != nil || got.Cause() != "o-2" || got.Order == nil || got.Order.TaskToken != "" || !got.Order.PaidAt.Equal(o.PaidAt) ||
		got.Order.Email != o.Email || !reflect.DeepEqual(got.Order.Seats, o.Seats) || !reflect.DeepEqual(got.TicketIDs, []string{"t-a"}) {
		t.Fatalf("confirmation round trip %+v, %v", got, err)
	}
	for _, bad := range []string{``, `{}`, `{"orderId":"o-1"}`, `{"orderId":"o-1","kind":"spam"}`, `not json`,
		`{"kind":"transfer-offer","orderId":"o-1"}`, `{"kind":"transfer-accepted"}`,
		`{"kind":"order-confirmation","orderId":"o-1","order":{"ID":"o-2"}}`} {
		if _, err := ParseRequest(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// A postponement's notice is its own cause: the same order told of two
// postponements gets two markers, and a repeat of one shares its marker.
func TestPostponementNoticeIsACausePerPostponement(t *testing.T) {
	first := Request{OrderID: "o-1", Kind: EventPostponed, Postponed: "2026-12-06T20:00:00Z"}
	second := Request{OrderID: "o-1", Kind: EventPostponed, Postponed: "2026-12-07T09:30:00Z"}
	got, err := ParseRequest(first.Body())
	if err != nil || !reflect.DeepEqual(got, first) {
		t.Fatalf("round trip %+v, %v", got, err)
	}
	if first.Cause() == second.Cause() || got.Cause() != first.Cause() {
		t.Errorf("causes %q, %q, %q: want one per postponement", first.Cause(), second.Cause(), got.Cause())
	}
	if c := (Request{OrderID: "o-1", Kind: EventCancelled}).Cause(); c != "o-1" {
		t.Errorf("a cancellation's cause is %q, want the order", c)
	}
}

// The capture answers by address (any case) or by the buyer's account, and
// keeps only the last CaptureLimit messages.
func TestCaptureFindsByAddressOrAccountAndKeepsTheLatest(t *testing.T) {
	ctx := context.Background()
	c := NewCapture(nil, func(_ context.Context, orderID string) string { return "acct-" + orderID })
	if err := c.Send(ctx, Message{To: "Ana@Example.org", Subject: "s", OrderID: "o1"}); err != nil {
		t.Fatal(err)
	}
	if len(c.For("ana@example.org")) != 1 || len(c.For("acct-o1")) != 1 || len(c.For("bob@example.org")) != 0 {
		t.Fatalf("lookups wrong: %+v", c.All())
	}
	c.Fail(errors.New("down"))
	if err := c.Send(ctx, Message{To: "x@example.org"}); err == nil || len(c.All()) != 1 {
		t.Fatalf("a failing capture kept the message (%v)", err)
	}
	c.Fail(nil)
	for i := range CaptureLimit + 5 {
		if err := c.Send(ctx, Message{To: "bulk@example.org", Subject: strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	all := c.All()
	if len(all) != CaptureLimit || all[len(all)-1].Subject != strconv.Itoa(CaptureLimit+4) {
		t.Fatalf("%d kept, last %q", len(all), all[len(all)-1].Subject)
	}
}

// The confirmation is a receipt: the seller, each place at its face value,
// the fees, the tax with its rate and mode, and the total the payment
// charged, from the breakdown the order was held with.
func TestConfirmationIsAReceipt(t *testing.T) {
	ev := catalog.Event{ID: "e-1", Name: "Stars", Venue: "Hall", Org: "org-a", StartsAt: time.Date(2027, 6, 1, 20, 0, 0, 0, time.UTC),
		Sections: []catalog.Section{{ID: "A", Name: "Stalls", Kind: catalog.Reserved, PriceCents: 4500, Currency: "EUR"},
			{ID: "F", Name: "Floor", Kind: catalog.GA, PriceCents: 3000, Currency: "EUR"}},
		Pricing: &pricing.Pricing{FeeCents: 350, TaxBasisPoints: 550, TaxMode: pricing.Exclusive, Seller: "Star Promotions Ltd"}}
	o := orders.Order{ID: "o-1", EventID: "e-1", Email: "ana@example.org", Currency: "EUR", Status: orders.Issued,
		Seats: []string{"A-1-1", "A-1-2"}, PaymentID: "pi_123", PaidAt: time.Date(2027, 5, 1, 9, 30, 0, 0, time.UTC)}
	// 2 × 45.00 + 2 × 3.50 = 97.00; 5.5 % of it is 5.335 → 5.34.
	o.SetPrice(ev.Pricing.Price(9000, 2))
	ts := []tickets.IssuedTicket{{Ticket: tickets.Ticket{ID: "t1", Seat: "A-1-1"}, Status: tickets.StatusValid, Code: "C1"},
		{Ticket: tickets.Ticket{ID: "t2", Seat: "A-1-2"}, Status: tickets.StatusValid, Code: "C2"}}
	m, err := Confirmation(o, ev, ts, "https://tickets.example/", ticketqr.Render)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sold by Star Promotions Ltd", "Stalls A-1-1: 45.00 EUR", "Stalls A-1-2: 45.00 EUR",
		"Face value: 90.00 EUR", "Service fees: 7.00 EUR", "Tax 5.5 %: 5.34 EUR", "Total paid: 102.34 EUR on 1 May 2027, 09:30 UTC",
		"payment pi_123"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the text lacks %q:\n%s", want, m.Text)
		}
	}
	for _, want := range []string{"sold by Star Promotions Ltd", "Service fees", "Tax 5.5 %", "102.34 EUR"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("the HTML lacks %q", want)
		}
	}

	// Inclusive tax, general admission, no seller named: the organization sells.
	ev.Pricing = &pricing.Pricing{TaxBasisPoints: 2000, TaxMode: pricing.Inclusive}
	ga := orders.Order{ID: "o-2", EventID: "e-1", Email: "ana@example.org", Currency: "EUR", Status: orders.Issued, Section: "F", Quantity: 3}
	ga.SetPrice(ev.Pricing.Price(9000, 3)) // 90.00 of which 15.00 tax
	m, err = Confirmation(ga, ev, nil, "https://tickets.example/", ticketqr.Render)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Sold by org-a", "3 × Floor: 90.00 EUR", "Tax 20 % included: 15.00 EUR", "Total paid: 90.00 EUR"} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the text lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "Service fees") {
		t.Error("a receipt without fees shows a fee line")
	}
}

func TestPercent(t *testing.T) {
	for bp, want := range map[int64]string{2000: "20 %", 550: "5.5 %", 1925: "19.25 %", 1: "0.01 %", 770: "7.7 %"} {
		if got := percent(bp); got != want {
			t.Errorf("percent(%d) = %q, want %q", bp, got, want)
		}
	}
}
