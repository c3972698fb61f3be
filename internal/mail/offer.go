package mail

import (
	"net/url"
	"strings"
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

// OfferMessage renders the email of a waiting-list offer, linking to the
// event on the fan site, where the offer is shown.
func OfferMessage(n OfferNotice, siteURL string) (Message, error) {
	const layout = "Mon 2 Jan 2006, 15:04 MST"
	v := offerView{Event: n.Event.Name, Venue: n.Event.Venue, Starts: n.Event.StartsAt.UTC().Format(layout),
		Until: n.ExpiresAt.UTC().Format(layout), Quantity: n.Quantity,
		Link: strings.TrimRight(siteURL, "/") + "/?event=" + url.QueryEscape(n.Event.ID)}
	return Message{To: n.To, Subject: "Places came back for " + n.Event.Name, Text: v.text(), HTML: v.html(),
		Kind: WaitlistOffer, Account: n.Account}, nil
}
