package mail

// The templates the messages were rendered with before they were written
// in plain Go (render.go): the reference TestMessagesMatchTheTemplates
// holds the renderers to. Only the tests link text/template and
// html/template; in a binary, their reflective method calls make the
// linker keep every exported method of every type (ADR 19).

import (
	htmltemplate "html/template"
	texttemplate "text/template"
)

var refConfirmationText = texttemplate.Must(texttemplate.New("text").Parse(`Your tickets for {{.Event}}

{{.Venue}}, {{.Starts}}
Order {{.OrderID}} · {{.Total}}

Receipt
Sold by {{.Seller}}
{{range .Items}}  {{.What}}: {{.Amount}}
{{end}}  Face value: {{.Face}}
{{if .Fees}}  Service fees: {{.Fees}}
{{end}}{{if .Tax}}  {{.Tax}}: {{.TaxAmt}}
{{end}}  Total paid: {{.Total}}{{if .Paid}} on {{.Paid}}{{end}}{{if .Payment}} (payment {{.Payment}}){{end}}

{{range .Tickets}}- {{.Place}}: {{if $.LiveOnly}}open your order on the site at the door and show its live code (this event does not accept a saved or printed code){{else}}show the QR code in this message or on the site at the door{{end}}
{{end}}
Your order and tickets, always up to date: {{.Link}}

Each ticket's code admits once. Do not share it.
`))

var refConfirmationHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Your tickets for {{.Event}}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem">
<h1 style="font-size:1.4rem">Your tickets for {{.Event}}</h1>
<p>{{.Venue}}, {{.Starts}}<br>Order {{.OrderID}} · {{.Total}}</p>
<table style="width:100%;border-collapse:collapse;margin:1rem 0" aria-label="Receipt">
<caption style="text-align:left;font-weight:bold">Receipt · sold by {{.Seller}}</caption>
{{range .Items}}<tr><td>{{.What}}</td><td style="text-align:right">{{.Amount}}</td></tr>
{{end}}<tr style="border-top:1px solid #ccc"><td>Face value</td><td style="text-align:right">{{.Face}}</td></tr>
{{if .Fees}}<tr><td>Service fees</td><td style="text-align:right">{{.Fees}}</td></tr>
{{end}}{{if .Tax}}<tr><td>{{.Tax}}</td><td style="text-align:right">{{.TaxAmt}}</td></tr>
{{end}}<tr style="font-weight:bold"><td>Total paid{{if .Paid}} on {{.Paid}}{{end}}</td><td style="text-align:right">{{.Total}}</td></tr>
</table>
{{if .Payment}}<p style="color:#555;font-size:.9rem">Payment {{.Payment}}</p>
{{end}}{{range .Tickets}}<div style="border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0;text-align:center">
<p style="font-weight:bold;margin:0 0 .5rem">{{.Place}}</p>
{{if $.LiveOnly}}<p style="margin:0">Show the live code on your order page at the door: this event does not accept a saved or printed code.</p>
{{else}}<img src="{{.Src}}" alt="Ticket code for {{.Place}}" width="240" height="240">
{{end}}
</div>
{{end}}<p><a href="{{.Link}}">See your order and tickets on StarArena</a></p>
<p style="color:#555;font-size:.9rem">Each ticket's code admits once. Do not share it.</p>
</body></html>
`))

var refNoticeText = map[Kind]*texttemplate.Template{
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

var refNoticeHTML = map[Kind]*htmltemplate.Template{
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

var refOfferText = texttemplate.Must(texttemplate.New("text").Parse(`Places came back for {{.Event}}

{{.Venue}}, {{.Starts}}

You are next on the waiting list: {{.Quantity}} place(s) are yours to buy until {{.Until}}.
Buy them here: {{.Link}}

If you do not buy them by then, they pass to the next fan in line.
`))

var refOfferHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Places came back for {{.Event}}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem">
<h1 style="font-size:1.4rem">Places came back for {{.Event}}</h1>
<p>{{.Venue}}, {{.Starts}}</p>
<p>You are next on the waiting list: <strong>{{.Quantity}} place(s)</strong> are yours to buy until <strong>{{.Until}}</strong>.</p>
<p><a href="{{.Link}}">Buy your places on StarArena</a></p>
<p style="color:#555;font-size:.9rem">If you do not buy them by then, they pass to the next fan in line.</p>
</body></html>
`))

var refTransferText = map[Kind]*texttemplate.Template{
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

var refTransferHTML = map[Kind]*htmltemplate.Template{
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
