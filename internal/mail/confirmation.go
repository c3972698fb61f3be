package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"

	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/orders"
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
}

type ticketView struct {
	Place string
	// Src is the image's cid: URL, which html/template would otherwise
	// refuse as an unknown scheme.
	Src htmltemplate.URL
}

var confirmationText = texttemplate.Must(texttemplate.New("text").Parse(`Your tickets for {{.Event}}

{{.Venue}}, {{.Starts}}
Order {{.OrderID}} · {{.Total}}

{{range .Tickets}}- {{.Place}}: show the QR code in this message or on the site at the door
{{end}}
Your order and tickets, always up to date: {{.Link}}

Each ticket's code admits once. Do not share it.
`))

var confirmationHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your tickets for {{.Event}}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem">
<h1 style="font-size:1.4rem">Your tickets for {{.Event}}</h1>
<p>{{.Venue}}, {{.Starts}}<br>Order {{.OrderID}} · {{.Total}}</p>
{{range .Tickets}}<div style="border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0;text-align:center">
<p style="font-weight:bold;margin:0 0 .5rem">{{.Place}}</p>
<img src="{{.Src}}" alt="Ticket code for {{.Place}}" width="240" height="240">
</div>
{{end}}<p><a href="{{.Link}}">See your order and tickets on StarArena</a></p>
<p style="color:#555;font-size:.9rem">Each ticket's code admits once. Do not share it.</p>
</body></html>
`))

// Confirmation renders the order confirmation of an ISSUED order: one QR
// image per valid ticket (revoked ones are left out) and a link to the
// order on the fan site.
func Confirmation(o orders.Order, ev catalog.Event, ts []tickets.IssuedTicket, siteURL string) (Message, error) {
	v := confirmationView{Event: ev.Name, Venue: ev.Venue, Starts: ev.StartsAt.UTC().Format("Mon 2 Jan 2006, 15:04 MST"),
		OrderID: o.ID, Link: orderLink(siteURL, o.ID), Total: money(o.AmountCents, o.Currency)}
	msg := Message{To: o.Email, Subject: "Your tickets for " + ev.Name, OrderID: o.ID, Kind: OrderConfirmation}
	for i, t := range ts {
		if t.Status == tickets.StatusRevoked || t.Code == "" {
			continue
		}
		png, err := qrPNG(t)
		if err != nil {
			return Message{}, err
		}
		cid := fmt.Sprintf("ticket-%d@stararena", i+1)
		msg.Images = append(msg.Images, Image{CID: cid, PNG: png})
		v.Tickets = append(v.Tickets, ticketView{Place: place(t.Ticket), Src: htmltemplate.URL("cid:" + cid)})
	}
	var text, html bytes.Buffer
	if err := confirmationText.Execute(&text, v); err != nil {
		return Message{}, fmt.Errorf("confirmation text: %w", err)
	}
	if err := confirmationHTML.Execute(&html, v); err != nil {
		return Message{}, fmt.Errorf("confirmation html: %w", err)
	}
	msg.Text, msg.HTML = text.String(), html.String()
	return msg, nil
}

// qrPNG is the ticket's QR image: the one the site shows when the service
// rendered it, else rendered from the code.
func qrPNG(t tickets.IssuedTicket) ([]byte, error) {
	data := t.QR
	if data == "" {
		var err error
		if data, err = tickets.QRDataURL(t.Code); err != nil {
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
