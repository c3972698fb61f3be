// Package orders holds the order: what a fan holds or bought, and the states
// it moves through. Every transition is a conditional write on the current
// status and version (see DESIGN.md's order state machine).
package orders

import (
	"time"

	"github.com/stararena/stararena/internal/pricing"
)

// Status is an order's state.
type Status string

// Order states.
const (
	PendingPayment Status = "PENDING_PAYMENT"
	Paid           Status = "PAID"
	Issued         Status = "ISSUED"
	IssueFailed    Status = "ISSUE_FAILED"
	Expired        Status = "EXPIRED"
	Cancelled      Status = "CANCELLED"
	RefundPending  Status = "REFUND_PENDING"
	Refunded       Status = "REFUNDED"
)

// Terminal reports whether no further transition is expected.
func (s Status) Terminal() bool {
	switch s {
	case Issued, Expired, Cancelled, Refunded:
		return true
	}
	return false
}

// GATake is how many general-admission places an order took from one
// counter shard, so a release returns them to the same shard.
type GATake struct {
	Shard    int `json:"shard" dynamodbav:"shard"`
	Quantity int `json:"quantity" dynamodbav:"quantity"`
}

// Order is a hold that may become a purchase.
type Order struct {
	ID       string   `dynamodbav:"orderId"`
	EventID  string   `dynamodbav:"eventId"`
	Account  string   `dynamodbav:"account"`
	Status   Status   `dynamodbav:"status"`
	Seats    []string `dynamodbav:"seats"`
	Section  string   `dynamodbav:"section"`
	Quantity int      `dynamodbav:"quantity"`
	GATakes  []GATake `dynamodbav:"gaTakes"`
	// AmountCents is the order's total: what the payment charges (face
	// value, fees and exclusive tax; Breakdown).
	AmountCents int64     `dynamodbav:"amountCents"`
	Currency    string    `dynamodbav:"currency"`
	ExpiresAt   time.Time `dynamodbav:"expiresAt"`
	CreatedAt   time.Time `dynamodbav:"createdAt"`
	UpdatedAt   time.Time `dynamodbav:"updatedAt"`
	Version     int64     `dynamodbav:"version"`
	AdmissionID string    `dynamodbav:"admissionId"`
	// Email is the buyer's address when the hold was placed (the token's
	// email claim): the confirmation goes there, and box office finds
	// orders by it. Empty for an order placed without one.
	Email string `dynamodbav:"email,omitempty"`

	// Money path. PaymentID is the captured payment that pays for the
	// order; TaskToken is the order workflow's payment wait.
	Provider  string    `dynamodbav:"provider,omitempty"`
	PaymentID string    `dynamodbav:"paymentId,omitempty"`
	PaidAt    time.Time `dynamodbav:"paidAt,omitempty"`
	TaskToken string    `dynamodbav:"taskToken,omitempty"`
	RefundID  string    `dynamodbav:"refundId,omitempty"`
	IssuedAt  time.Time `dynamodbav:"issuedAt,omitempty"`
	// TicketIDs are the tickets the issuing transaction wrote with the
	// move to ISSUED (the manifest's list, in seat order), so the owner's
	// view reads the tickets without the manifest. Empty on an order
	// issued by another path (a comp, a repair): its manifest lists them.
	TicketIDs []string `dynamodbav:"ticketIds,omitempty"`
	// Late is set when a payment arrived after the hold had been released
	// and the same places were held again for it.
	Late bool `dynamodbav:"late,omitempty"`

	// The last declined payment attempt while the order was held: when the
	// provider refused it and why, in the provider's words. Declines counts
	// the attempts refused; DeclineEventID is the provider event that
	// recorded the last one, so the same event never counts twice. A
	// decline changes nothing else: the fan may pay again until ExpiresAt.
	DeclinedAt     time.Time `dynamodbav:"declinedAt,omitempty"`
	DeclineCode    string    `dynamodbav:"declineCode,omitempty"`
	DeclineReason  string    `dynamodbav:"declineReason,omitempty"`
	Declines       int       `dynamodbav:"declines,omitempty"`
	DeclineEventID string    `dynamodbav:"declineEventId,omitempty"`

	// Organizer refund (RefundOrder): who asked, why and when. Set with the
	// move to REFUND_PENDING; RefundRequestedBy also tells the organizer's
	// refund of a paying payment from a late payment refunded on arrival.
	RefundRequestedBy string    `dynamodbav:"refundRequestedBy,omitempty"`
	RefundReason      string    `dynamodbav:"refundReason,omitempty"`
	RefundRequestedAt time.Time `dynamodbav:"refundRequestedAt,omitempty"`
	// RefundHoldsPlaces is true from the move to REFUND_PENDING until the
	// order's places go back on sale, which happens only once its tickets
	// are revoked: a place is never resold while a ticket for it admits.
	RefundHoldsPlaces bool `dynamodbav:"refundHoldsPlaces,omitempty"`
	// RefundedAt is when the refund completed (the move to REFUNDED).
	RefundedAt time.Time `dynamodbav:"refundedAt,omitempty"`

	// The price breakdown the hold was placed with (ADR 26): face value,
	// fees and tax in minor units, and the tax rate and mode then in force.
	// Zero on orders held before fees existed, whose total is their face
	// value (Breakdown).
	FaceCents      int64  `dynamodbav:"faceCents,omitempty"`
	FeeCents       int64  `dynamodbav:"feeCents,omitempty"`
	TaxCents       int64  `dynamodbav:"taxCents,omitempty"`
	TaxBasisPoints int64  `dynamodbav:"taxBasisPoints,omitempty"`
	TaxMode        string `dynamodbav:"taxMode,omitempty"`

	// Comp marks a complimentary order (ADR 30): the organizer issued its
	// tickets without payment, CompBy says who. It is created PAID with
	// no amount and no payment, and counts apart in the report.
	Comp   bool   `dynamodbav:"comp,omitempty"`
	CompBy string `dynamodbav:"compBy,omitempty"`
}

// SetPrice records b as the order's price: its total becomes the amount
// the payment charges.
func (o *Order) SetPrice(b pricing.Breakdown) {
	o.AmountCents, o.FaceCents, o.FeeCents, o.TaxCents = b.TotalCents, b.FaceCents, b.FeeCents, b.TaxCents
	o.TaxBasisPoints, o.TaxMode = b.TaxBasisPoints, b.TaxMode
}

// Breakdown is the order's price line by line. An order held before fees
// existed has no face value recorded (prices are at least 1): its amount
// was its face value.
func (o *Order) Breakdown() pricing.Breakdown {
	if o.FaceCents == 0 {
		return pricing.Breakdown{FaceCents: o.AmountCents, TotalCents: o.AmountCents}
	}
	return pricing.Breakdown{FaceCents: o.FaceCents, FeeCents: o.FeeCents, TaxCents: o.TaxCents, TotalCents: o.AmountCents,
		TaxBasisPoints: o.TaxBasisPoints, TaxMode: o.TaxMode}
}

// Places is the number of tickets the order is for.
func (o *Order) Places() int {
	if len(o.Seats) > 0 {
		return len(o.Seats)
	}
	return o.Quantity
}
