package mail

import (
	"fmt"
	"strings"

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

var transferSubject = map[Kind]string{
	TransferOffer:    "A ticket for %s is offered to you",
	TransferAccepted: "Your ticket for %s was transferred",
}

// TransferMessage renders the email of a transfer cause, linking to My
// tickets on the fan site.
func TransferMessage(kind Kind, n TransferNotice, siteURL string) (Message, error) {
	subject, ok := transferSubject[kind]
	if !ok {
		return Message{}, fmt.Errorf("no transfer message of kind %q", kind)
	}
	v := transferView{Event: n.Event.Name, Venue: n.Event.Venue, Starts: n.Event.StartsAt.UTC().Format(dateLayout),
		Seat: n.Seat, From: n.From, AcceptedBy: n.AcceptedBy, Link: strings.TrimRight(siteURL, "/") + "/?mine"}
	return Message{To: n.To, Subject: fmt.Sprintf(subject, n.Event.Name), Text: v.text(kind), HTML: v.html(kind), Kind: kind, Account: n.Account}, nil
}
