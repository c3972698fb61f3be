package mail

import (
	"strconv"
	"strings"
)

// The messages are written in plain Go, not with text/template or
// html/template: executing a template calls methods by name through
// reflection, and a binary that can do that keeps every exported method of
// every type it converts to an interface, which made the mailer function
// half again as large as the others (ADR 19). The HTML parts escape every
// value as html/template escaped it where it stood, so the output is the
// same byte for byte (TestMessagesMatchTheTemplates holds them to the
// templates they replace).

// htmlEscaper escapes a value for HTML text, a title or a quoted attribute:
// html/template's replacements for those contexts.
var htmlEscaper = strings.NewReplacer(
	"\x00", "\uFFFD",
	`"`, "&#34;",
	"&", "&amp;",
	"'", "&#39;",
	"+", "&#43;",
	"<", "&lt;",
	">", "&gt;",
)

// esc escapes s for HTML text or a quoted attribute value.
func esc(s string) string { return htmlEscaper.Replace(s) }

// unsafeURL replaces a URL whose scheme is not http, https or mailto, as
// html/template does: a link never runs script.
const unsafeURL = "#ZgotmplZ"

// href is s as the value of a quoted href attribute: a URL of another
// scheme becomes unsafeURL, then the URL is normalized and escaped.
func href(s string) string {
	if scheme, _, ok := strings.Cut(s, ":"); ok && !strings.Contains(scheme, "/") {
		if !strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https") && !strings.EqualFold(scheme, "mailto") {
			s = unsafeURL
		}
	}
	return ownURL(s)
}

// ownURL is a URL this package built (an image's cid:) as the value of a
// quoted attribute: normalized and escaped, its scheme not checked.
func ownURL(s string) string { return esc(normalizeURL(s)) }

// normalizeURL percent-encodes the bytes of s that may not stand in a URL
// (spaces, quotes, parentheses, non-ASCII), keeping the reserved and
// unreserved characters and valid escapes, as html/template does.
func normalizeURL(s string) string {
	var b strings.Builder
	written := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
			continue
		case strings.IndexByte("!#$&*+,/:;=?@[]-._~", c) >= 0:
			continue
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			continue
		}
		b.WriteString(s[written:i])
		b.WriteByte('%')
		b.WriteString(hex2(c))
		written = i + 1
	}
	if written == 0 {
		return s
	}
	b.WriteString(s[written:])
	return b.String()
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hex2 is c in two lower-case hex digits.
func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// htmlHead is the start of every HTML part, up to the opening of its body:
// the title and the body's style.
func htmlHead(title string) string {
	return "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + esc(title) + "</title></head>\n" +
		"<body style=\"font-family:system-ui,sans-serif;max-width:36rem;margin:0 auto;padding:1rem\">\n" +
		"<h1 style=\"font-size:1.4rem\">" + esc(title) + "</h1>\n"
}

// htmlFoot closes an HTML part.
const htmlFoot = "</body></html>\n"

// confirmationText is the confirmation's plain-text part.
func (v confirmationView) text() string {
	var b strings.Builder
	b.WriteString("Your tickets for " + v.Event + "\n\n" + v.Venue + ", " + v.Starts + "\nOrder " + v.OrderID + " · " + v.Total +
		"\n\nReceipt\nSold by " + v.Seller + "\n")
	for _, it := range v.Items {
		b.WriteString("  " + it.What + ": " + it.Amount + "\n")
	}
	b.WriteString("  Face value: " + v.Face + "\n")
	if v.Fees != "" {
		b.WriteString("  Service fees: " + v.Fees + "\n")
	}
	if v.Tax != "" {
		b.WriteString("  " + v.Tax + ": " + v.TaxAmt + "\n")
	}
	b.WriteString("  Total paid: " + v.Total)
	if v.Paid != "" {
		b.WriteString(" on " + v.Paid)
	}
	if v.Payment != "" {
		b.WriteString(" (payment " + v.Payment + ")")
	}
	b.WriteString("\n\n")
	for _, t := range v.Tickets {
		b.WriteString("- " + t.Place + ": ")
		if v.LiveOnly {
			b.WriteString("open your order on the site at the door and show its live code (this event does not accept a saved or printed code)")
		} else {
			b.WriteString("show the QR code in this message or on the site at the door")
		}
		b.WriteString("\n")
	}
	b.WriteString("\nYour order and tickets, always up to date: " + v.Link + "\n\nEach ticket's code admits once. Do not share it.\n")
	return b.String()
}

// html is the confirmation's HTML part.
func (v confirmationView) html() string {
	const right = `<td style="text-align:right">`
	var b strings.Builder
	b.WriteString(htmlHead("Your tickets for " + v.Event))
	b.WriteString("<p>" + esc(v.Venue) + ", " + esc(v.Starts) + "<br>Order " + esc(v.OrderID) + " · " + esc(v.Total) + "</p>\n" +
		`<table style="width:100%;border-collapse:collapse;margin:1rem 0" aria-label="Receipt">` + "\n" +
		`<caption style="text-align:left;font-weight:bold">Receipt · sold by ` + esc(v.Seller) + "</caption>\n")
	for _, it := range v.Items {
		b.WriteString("<tr><td>" + esc(it.What) + "</td>" + right + esc(it.Amount) + "</td></tr>\n")
	}
	b.WriteString(`<tr style="border-top:1px solid #ccc"><td>Face value</td>` + right + esc(v.Face) + "</td></tr>\n")
	if v.Fees != "" {
		b.WriteString("<tr><td>Service fees</td>" + right + esc(v.Fees) + "</td></tr>\n")
	}
	if v.Tax != "" {
		b.WriteString("<tr><td>" + esc(v.Tax) + "</td>" + right + esc(v.TaxAmt) + "</td></tr>\n")
	}
	b.WriteString(`<tr style="font-weight:bold"><td>Total paid`)
	if v.Paid != "" {
		b.WriteString(" on " + esc(v.Paid))
	}
	b.WriteString("</td>" + right + esc(v.Total) + "</td></tr>\n</table>\n")
	if v.Payment != "" {
		b.WriteString(`<p style="color:#555;font-size:.9rem">Payment ` + esc(v.Payment) + "</p>\n")
	}
	for _, t := range v.Tickets {
		b.WriteString(`<div style="border:1px solid #ccc;border-radius:8px;padding:1rem;margin:1rem 0;text-align:center">` + "\n" +
			`<p style="font-weight:bold;margin:0 0 .5rem">` + esc(t.Place) + "</p>\n")
		if v.LiveOnly {
			b.WriteString(`<p style="margin:0">Show the live code on your order page at the door: this event does not accept a saved or printed code.</p>` + "\n")
		} else {
			b.WriteString(`<img src="` + ownURL(t.Src) + `" alt="Ticket code for ` + esc(t.Place) + `" width="240" height="240">` + "\n")
		}
		b.WriteString("\n</div>\n")
	}
	b.WriteString(`<p><a href="` + href(v.Link) + `">See your order and tickets on StarArena</a></p>` + "\n" +
		`<p style="color:#555;font-size:.9rem">Each ticket's code admits once. Do not share it.</p>` + "\n" + htmlFoot)
	return b.String()
}

// text is a cancellation's or postponement's plain-text part.
func (v noticeView) text(kind Kind) string {
	if kind == EventCancelled {
		return v.Event + " is cancelled\n\n" + v.Reason + "\n\nYour order " + v.OrderID + " has been refunded in full: " + v.Total +
			" goes back to the card you paid with.\nIts tickets are no longer valid.\n\nYour order: " + v.Link + "\n"
	}
	return v.Event + " has a new date\n\n" + v.Venue + ", now " + v.Starts + " (was " + v.Was + ").\n\n" +
		"Your tickets stay valid for the new date: nothing to do.\nIf you cannot come, you may ask for a refund of order " + v.OrderID +
		" (" + v.Total + ") on the site until " + v.RefundUntil + ".\n\nYour order: " + v.Link + "\n"
}

// html is a cancellation's or postponement's HTML part.
func (v noticeView) html(kind Kind) string {
	link := `<p><a href="` + href(v.Link) + `">See your order on StarArena</a></p>` + "\n" + htmlFoot
	if kind == EventCancelled {
		return htmlHead(v.Event+" is cancelled") + "<p>" + esc(v.Reason) + "</p>\n<p>Your order " + esc(v.OrderID) +
			" has been refunded in full: " + esc(v.Total) + " goes back to the card you paid with.\nIts tickets are no longer valid.</p>\n" + link
	}
	return htmlHead(v.Event+" has a new date") + "<p>" + esc(v.Venue) + ", now <strong>" + esc(v.Starts) + "</strong> (was " + esc(v.Was) + ").</p>\n" +
		"<p>Your tickets stay valid for the new date: nothing to do.</p>\n<p>If you cannot come, you may ask for a refund of order " +
		esc(v.OrderID) + " (" + esc(v.Total) + ") on the site until " + esc(v.RefundUntil) + ".</p>\n" + link
}

// text is a waiting-list offer's plain-text part.
func (v offerView) text() string {
	return "Places came back for " + v.Event + "\n\n" + v.Venue + ", " + v.Starts + "\n\nYou are next on the waiting list: " +
		strconv.Itoa(v.Quantity) + " place(s) are yours to buy until " + v.Until + ".\nBuy them here: " + v.Link +
		"\n\nIf you do not buy them by then, they pass to the next fan in line.\n"
}

// html is a waiting-list offer's HTML part.
func (v offerView) html() string {
	return htmlHead("Places came back for "+v.Event) + "<p>" + esc(v.Venue) + ", " + esc(v.Starts) + "</p>\n" +
		"<p>You are next on the waiting list: <strong>" + strconv.Itoa(v.Quantity) + " place(s)</strong> are yours to buy until <strong>" +
		esc(v.Until) + "</strong>.</p>\n" + `<p><a href="` + href(v.Link) + `">Buy your places on StarArena</a></p>` + "\n" +
		`<p style="color:#555;font-size:.9rem">If you do not buy them by then, they pass to the next fan in line.</p>` + "\n" + htmlFoot
}

// text is a transfer message's plain-text part.
func (v transferView) text(kind Kind) string {
	if kind == TransferOffer {
		return "A ticket for " + v.Event + " is offered to you\n\n" + v.From + " wants to give you a ticket: " + v.Seat + ", " + v.Venue + ", " +
			v.Starts + ".\n\nAccept it under My tickets, signed in with this address: " + v.Link +
			"\nOnce you accept, the ticket and its QR code are yours, and the sender's code stops working.\n"
	}
	return "Your ticket for " + v.Event + " was transferred\n\n" + v.AcceptedBy + " accepted your ticket " + v.Seat + " (" + v.Venue + ", " +
		v.Starts + ").\nIts code on your order no longer admits anyone: the new holder has their own.\n\nYour tickets: " + v.Link + "\n"
}

// html is a transfer message's HTML part.
func (v transferView) html(kind Kind) string {
	if kind == TransferOffer {
		return htmlHead("A ticket for "+v.Event+" is offered to you") + "<p>" + esc(v.From) + " wants to give you a ticket: <strong>" +
			esc(v.Seat) + "</strong>, " + esc(v.Venue) + ", " + esc(v.Starts) + ".</p>\n" +
			`<p><a href="` + href(v.Link) + `">Accept it under My tickets</a>, signed in with this address.</p>` + "\n" +
			`<p style="color:#555;font-size:.9rem">Once you accept, the ticket and its QR code are yours, and the sender's code stops working.</p>` +
			"\n" + htmlFoot
	}
	return htmlHead("Your ticket for "+v.Event+" was transferred") + "<p>" + esc(v.AcceptedBy) + " accepted your ticket <strong>" +
		esc(v.Seat) + "</strong> (" + esc(v.Venue) + ", " + esc(v.Starts) + ").</p>\n" +
		"<p>Its code on your order no longer admits anyone: the new holder has their own.</p>\n" +
		`<p><a href="` + href(v.Link) + `">See your tickets on StarArena</a></p>` + "\n" + htmlFoot
}
