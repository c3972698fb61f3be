package mail

import (
	"encoding/base64"
	"fmt"
	"net/url"
	"strconv"
	"strings"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/orders"
	"github.com/stararena/stararena/internal/pricing"
	"github.com/stararena/stararena/internal/tickets"
)

// confirmationView is what both parts of the confirmation show.
type confirmationView struct {
	Event   string
	Venue   string
	Starts  string
	OrderID string
	Link    string
	Total   string
	Tickets []ticketView
	// LiveOnly: the event's gates take only the live code on the ticket
	// page (ADR 28), so the message carries no code, only the way there.
	LiveOnly bool
	// The receipt: who sells, what, and the total line by line (ADR 26).
	Seller  string
	Items   []receiptLine
	Face    string
	Fees    string // empty when the event charges no fee
	Tax     string // the tax line's label, empty when there is no tax
	TaxAmt  string
	Paid    string // when the payment was captured
	Payment string // the provider's payment id
}

// receiptLine is one line of a receipt: a place, or a number of
// general-admission places, and its face value.
type receiptLine struct {
	What   string
	Amount string
}

type ticketView struct {
	Place string
	// Src is the image's cid: URL (this package's own: its scheme is
	// not checked as a link's is).
	Src string
}

// Confirmation renders the order confirmation of an ISSUED order: a
// receipt (seller, places, face value, fees, tax, total, payment), one QR
// image per valid ticket (revoked ones are left out; none at an event that
// accepts only live codes) and a link to the order on the fan site.
func Confirmation(o orders.Order, ev catalog.Event, ts []tickets.IssuedTicket, siteURL string, qr tickets.QRRenderer) (Message, error) {
	v := confirmationView{Event: ev.Name, Venue: ev.Venue, Starts: ev.StartsAt.UTC().Format("Mon 2 Jan 2006, 15:04 MST"),
		OrderID: o.ID, Link: orderLink(siteURL, o.ID), Total: money(o.AmountCents, o.Currency)}
	receipt(&v, o, ev)
	msg := Message{To: o.Email, Subject: "Your tickets for " + ev.Name, OrderID: o.ID, Kind: OrderConfirmation, Account: o.Account}
	v.LiveOnly = !ev.StaticCodesAccepted()
	for i, t := range ts {
		if t.Status == tickets.StatusRevoked || t.Code == "" {
			continue
		}
		if v.LiveOnly {
			// A static code would be refused at the gate, and a
			// forwarded one would only mislead.
			v.Tickets = append(v.Tickets, ticketView{Place: place(t.Ticket)})
			continue
		}
		png, err := qrPNG(t, qr)
		if err != nil {
			return Message{}, err
		}
		cid := fmt.Sprintf("ticket-%d@stararena", i+1)
		msg.Images = append(msg.Images, Image{CID: cid, PNG: png})
		v.Tickets = append(v.Tickets, ticketView{Place: place(t.Ticket), Src: "cid:" + cid})
	}
	msg.Text, msg.HTML = v.text(), v.html()
	return msg, nil
}

// qrPNG is the ticket's QR image: the one the site shows when the service
// rendered it, else drawn from the code with qr.
func qrPNG(t tickets.IssuedTicket, qr tickets.QRRenderer) ([]byte, error) {
	data := t.QR
	if data == "" {
		if qr == nil {
			return nil, fmt.Errorf("ticket %s: no QR renderer configured", t.ID)
		}
		var err error
		if data, err = qr(t.Code); err != nil {
			return nil, fmt.Errorf("ticket %s: %w", t.ID, err)
		}
	}
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(data, prefix) {
		return nil, fmt.Errorf("ticket %s: QR is not a PNG data URL", t.ID)
	}
	png, err := base64.StdEncoding.DecodeString(data[len(prefix):])
	if err != nil {
		return nil, fmt.Errorf("ticket %s: QR: %w", t.ID, err)
	}
	return png, nil
}

// place names a ticket's place as the site does: a reserved seat, or a
// general-admission place.
func place(t tickets.Ticket) string { return t.Seat }

func orderLink(siteURL, orderID string) string {
	return strings.TrimRight(siteURL, "/") + "/?order=" + url.QueryEscape(orderID)
}

func money(cents int64, currency string) string {
	return fmt.Sprintf("%d.%02d %s", cents/100, cents%100, strings.ToUpper(currency))
}

// DataURLs returns m's HTML with its inline images as data: URLs, the way
// a mail client shows them: what the local capture serves.
func (m Message) DataURLs() string {
	html := m.HTML
	for _, img := range m.Images {
		html = strings.ReplaceAll(html, "cid:"+img.CID, "data:image/png;base64,"+base64.StdEncoding.EncodeToString(img.PNG))
	}
	return html
}

// receipt fills v's receipt from the order's breakdown: the price it was
// held with, whatever the event charges now.
func receipt(v *confirmationView, o orders.Order, ev catalog.Event) {
	b := o.Breakdown()
	v.Seller = ev.Owner()
	if ev.Pricing != nil && ev.Pricing.Seller != "" {
		v.Seller = ev.Pricing.Seller
	}
	v.Face = money(b.FaceCents, o.Currency)
	if b.FeeCents > 0 {
		v.Fees = money(b.FeeCents, o.Currency)
	}
	if b.TaxBasisPoints > 0 {
		v.Tax, v.TaxAmt = "Tax "+percent(b.TaxBasisPoints), money(b.TaxCents, o.Currency)
		if b.TaxMode == pricing.Inclusive {
			v.Tax += " included"
		}
	}
	if !o.PaidAt.IsZero() {
		v.Paid = o.PaidAt.UTC().Format("2 Jan 2006, 15:04 MST")
	}
	v.Payment = o.PaymentID
	for _, seat := range o.Seats {
		line := receiptLine{What: seat}
		if sec, ok := ev.Section(strings.SplitN(seat, "-", 2)[0]); ok {
			line.What = sec.Name + " " + seat
			line.Amount = money(sec.PriceCents, o.Currency)
		}
		v.Items = append(v.Items, line)
	}
	if len(o.Seats) == 0 {
		line := receiptLine{What: fmt.Sprintf("%d × %s", o.Quantity, o.Section)}
		if sec, ok := ev.Section(o.Section); ok {
			line.What = fmt.Sprintf("%d × %s", o.Quantity, sec.Name)
		}
		line.Amount = money(b.FaceCents, o.Currency)
		v.Items = append(v.Items, line)
	}
}

// percent writes a rate in basis points as a percentage: 2000 is "20 %",
// 550 "5.5 %", 1925 "19.25 %".
func percent(bp int64) string {
	s := strconv.FormatInt(bp/100, 10)
	if frac := bp % 100; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%02d", frac), "0")
	}
	return s + " %"
}
