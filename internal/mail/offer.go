package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"net/url"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/stararena/stararena/internal/catalog"
)

// OfferNotice is a live waiting-list offer: what its email says.
type OfferNotice struct {
	To        string
	Account   string
	Event     catalog.Event
	Quantity  int
	ExpiresAt time.Time
	OfferID   string
}

type offerView struct {
	Event, Venue, Starts, Until, Link string
	Quantity                          int
}

var offerText = texttemplate.Must(texttemplate.New("text").Parse(`Places came back for {{.Event}}

{{.Venue}}, {{.Starts}}

You are next on the waiting list: {{.Quantity}} place(s) are yours to buy until {{.Until}}.
Buy them here: {{.Link}}

If you do not buy them by then, they pass to the next fan in line.
`))

var offerHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Places came back for {{.Event}}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem">
<h1 style="font-size:1.4rem">Places came back for {{.Event}}</h1>
<p>{{.Venue}}, {{.Starts}}</p>
<p>You are next on the waiting list: <strong>{{.Quantity}} place(s)</strong> are yours to buy until <strong>{{.Until}}</strong>.</p>
<p><a href="{{.Link}}">Buy your places on StarArena</a></p>
<p style="color:#555;font-size:.9rem">If you do not buy them by then, they pass to the next fan in line.</p>
</body></html>
`))

// OfferMessage renders the email of a waiting-list offer, linking to the
// event on the fan site, where the offer is shown.
func OfferMessage(n OfferNotice, siteURL string) (Message, error) {
	const layout = "Mon 2 Jan 2006, 15:04 MST"
	v := offerView{Event: n.Event.Name, Venue: n.Event.Venue, Starts: n.Event.StartsAt.UTC().Format(layout),
		Until: n.ExpiresAt.UTC().Format(layout), Quantity: n.Quantity,
		Link: strings.TrimRight(siteURL, "/") + "/?event=" + url.QueryEscape(n.Event.ID)}
	var text, html bytes.Buffer
	if err := offerText.Execute(&text, v); err != nil {
		return Message{}, fmt.Errorf("offer text: %w", err)
	}
	if err := offerHTML.Execute(&html, v); err != nil {
		return Message{}, fmt.Errorf("offer html: %w", err)
	}
	return Message{To: n.To, Subject: "Places came back for " + n.Event.Name, Text: text.String(), HTML: html.String(),
		Kind: WaitlistOffer, Account: n.Account}, nil
}
