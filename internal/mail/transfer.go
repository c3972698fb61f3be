package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"

	"github.com/stararena/stararena/internal/catalog"
)

// TransferNotice is a ticket transfer (internal/transfers) as its email
// tells it: an offer to the recipient, or an acceptance to the sender.
type TransferNotice struct {
	// To is the address written to: the recipient's (an offer) or the
	// sender's (an acceptance).
	To string
	// Account is the account written to, when known (the sender's, for
	// an acceptance): the capture finds messages by it.
	Account    string
	TransferID string
	Event      catalog.Event
	Seat       string
	// From is who offered; AcceptedBy who accepted.
	From, AcceptedBy string
}

type transferView struct {
	Event, Venue, Starts, Seat, From, AcceptedBy, Link string
}

var transferText = map[Kind]*texttemplate.Template{
	TransferOffer: texttemplate.Must(texttemplate.New("offer").Parse(`A ticket for {{.Event}} is offered to you

{{.From}} wants to give you a ticket: {{.Seat}}, {{.Venue}}, {{.Starts}}.

Accept it under My tickets, signed in with this address: {{.Link}}
Once you accept, the ticket and its QR code are yours, and the sender's code stops working.
`)),
	TransferAccepted: texttemplate.Must(texttemplate.New("accepted").Parse(`Your ticket for {{.Event}} was transferred

{{.AcceptedBy}} accepted your ticket {{.Seat}} ({{.Venue}}, {{.Starts}}).
Its code on your order no longer admits anyone: the new holder has their own.

Your tickets: {{.Link}}
`)),
}

var transferHTML = map[Kind]*htmltemplate.Template{
	TransferOffer: htmltemplate.Must(htmltemplate.New("offer").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A ticket for {{.Event}} is offered to you</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem">
<h1 style="font-size:1.4rem">A ticket for {{.Event}} is offered to you</h1>
<p>{{.From}} wants to give you a ticket: <strong>{{.Seat}}</strong>, {{.Venue}}, {{.Starts}}.</p>
<p><a href="{{.Link}}">Accept it under My tickets</a>, signed in with this address.</p>
<p style="color:#555;font-size:.9rem">Once you accept, the ticket and its QR code are yours, and the sender's code stops working.</p>
</body></html>
`)),
	TransferAccepted: htmltemplate.Must(htmltemplate.New("accepted").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your ticket for {{.Event}} was transferred</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem">
<h1 style="font-size:1.4rem">Your ticket for {{.Event}} was transferred</h1>
<p>{{.AcceptedBy}} accepted your ticket <strong>{{.Seat}}</strong> ({{.Venue}}, {{.Starts}}).</p>
<p>Its code on your order no longer admits anyone: the new holder has their own.</p>
<p><a href="{{.Link}}">See your tickets on StarArena</a></p>
</body></html>
`)),
}

var transferSubject = map[Kind]string{
	TransferOffer:    "A ticket for %s is offered to you",
	TransferAccepted: "Your ticket for %s was transferred",
}

// TransferMessage renders the email of a transfer cause, linking to My
// tickets on the fan site.
func TransferMessage(kind Kind, n TransferNotice, siteURL string) (Message, error) {
	text, html := transferText[kind], transferHTML[kind]
	if text == nil {
		return Message{}, fmt.Errorf("no transfer message of kind %q", kind)
	}
	v := transferView{Event: n.Event.Name, Venue: n.Event.Venue, Starts: n.Event.StartsAt.UTC().Format(dateLayout),
		Seat: n.Seat, From: n.From, AcceptedBy: n.AcceptedBy, Link: strings.TrimRight(siteURL, "/") + "/?mine"}
	var tb, hb bytes.Buffer
	if err := text.Execute(&tb, v); err != nil {
		return Message{}, fmt.Errorf("%s text: %w", kind, err)
	}
	if err := html.Execute(&hb, v); err != nil {
		return Message{}, fmt.Errorf("%s html: %w", kind, err)
	}
	return Message{To: n.To, Subject: fmt.Sprintf(transferSubject[kind], n.Event.Name), Text: tb.String(), HTML: hb.String(), Kind: kind, Account: n.Account}, nil
}
