package mail

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
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

var noticeText = map[Kind]*texttemplate.Template{
	EventCancelled: texttemplate.Must(texttemplate.New("cancelled").Parse(`{{.Event}} is cancelled

{{.Reason}}

Your order {{.OrderID}} has been refunded in full: {{.Total}} goes back to the card you paid with.
Its tickets are no longer valid.

Your order: {{.Link}}
`)),
	EventPostponed: texttemplate.Must(texttemplate.New("postponed").Parse(`{{.Event}} has a new date

{{.Venue}}, now {{.Starts}} (was {{.Was}}).

Your tickets stay valid for the new date: nothing to do.
If you cannot come, you may ask for a refund of order {{.OrderID}} ({{.Total}}) on the site until {{.RefundUntil}}.

Your order: {{.Link}}
`)),
}

var noticeHTML = map[Kind]*htmltemplate.Template{
	EventCancelled: htmltemplate.Must(htmltemplate.New("cancelled").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Event}} is cancelled</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem">
<h1 style="font-size:1.4rem">{{.Event}} is cancelled</h1>
<p>{{.Reason}}</p>
<p>Your order {{.OrderID}} has been refunded in full: {{.Total}} goes back to the card you paid with.
Its tickets are no longer valid.</p>
<p><a href="{{.Link}}">See your order on StarArena</a></p>
</body></html>
`)),
	EventPostponed: htmltemplate.Must(htmltemplate.New("postponed").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Event}} has a new date</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem">
<h1 style="font-size:1.4rem">{{.Event}} has a new date</h1>
<p>{{.Venue}}, now <strong>{{.Starts}}</strong> (was {{.Was}}).</p>
<p>Your tickets stay valid for the new date: nothing to do.</p>
<p>If you cannot come, you may ask for a refund of order {{.OrderID}} ({{.Total}}) on the site until {{.RefundUntil}}.</p>
<p><a href="{{.Link}}">See your order on StarArena</a></p>
</body></html>
`)),
}

var noticeSubject = map[Kind]string{
	EventCancelled: "Cancelled: %s — your order is refunded",
	EventPostponed: "New date for %s",
}

const dateLayout = "Mon 2 Jan 2006, 15:04 MST"

// Notice renders the cancellation or postponement notice of order o.
func Notice(kind Kind, o orders.Order, ev catalog.Event, siteURL string) (Message, error) {
	text, html, subject := noticeText[kind], noticeHTML[kind], noticeSubject[kind]
	if text == nil {
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
	var tb, hb bytes.Buffer
	if err := text.Execute(&tb, v); err != nil {
		return Message{}, fmt.Errorf("%s text: %w", kind, err)
	}
	if err := html.Execute(&hb, v); err != nil {
		return Message{}, fmt.Errorf("%s html: %w", kind, err)
	}
	return Message{To: o.Email, Subject: fmt.Sprintf(subject, ev.Name), Text: tb.String(), HTML: hb.String(),
		OrderID: o.ID, Kind: kind, Account: o.Account}, nil
}
