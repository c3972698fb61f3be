package mail

import (
	"context"
	"strings"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/clock"
)

// Captured is a message the local stack kept instead of sending: the
// shape GET /dev/mail answers. HTML has the inline images as data: URLs.
type Captured struct {
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	Text    string    `json:"text"`
	HTML    string    `json:"html"`
	SentAt  time.Time `json:"sentAt"`
	// Account is the order's buyer, so a test can ask by account as well
	// as by address; not part of the answer.
	Account string `json:"-"`
}

// CaptureLimit is how many messages a Capture keeps; older ones are
// dropped, so a simulated rush of thousands of orders cannot fill the
// process's memory with QR images.
const CaptureLimit = 2000

// Capture is the local stack's Sender: it keeps the last CaptureLimit
// messages in memory, in the order accepted. Fail, when set, makes Send fail as an SES outage
// would (tests of retries and the dead-letter queue).
type Capture struct {
	clock clock.Clock
	mu    sync.Mutex
	msgs  []Captured
	fail  error
	// accounts maps an order to its buyer for For's account lookup.
	accounts func(ctx context.Context, orderID string) string
}

// NewCapture returns an empty capture; accounts (optional) names the buyer
// of an order so messages can be found by account too.
func NewCapture(c clock.Clock, accounts func(ctx context.Context, orderID string) string) *Capture {
	if c == nil {
		c = clock.System{}
	}
	return &Capture{clock: c, accounts: accounts}
}

// Send keeps m.
func (c *Capture) Send(ctx context.Context, m Message) error {
	c.mu.Lock()
	fail := c.fail
	c.mu.Unlock()
	if fail != nil {
		return fail
	}
	cp := Captured{To: m.To, Subject: m.Subject, Text: m.Text, HTML: m.DataURLs(), SentAt: c.clock.Now().UTC()}
	cp.Account = m.Account
	if cp.Account == "" && c.accounts != nil && m.OrderID != "" {
		cp.Account = c.accounts(ctx, m.OrderID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.msgs) >= CaptureLimit {
		c.msgs = append(c.msgs[:0], c.msgs[len(c.msgs)-CaptureLimit+1:]...)
	}
	c.msgs = append(c.msgs, cp)
	return nil
}

// Fail makes every Send fail with err until called with nil.
func (c *Capture) Fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fail = err
}

// For returns the messages to an address or an account (case-insensitive
// for addresses), oldest first; empty: none.
func (c *Capture) For(to string) []Captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := []Captured{}
	for _, m := range c.msgs {
		if strings.EqualFold(m.To, to) || (m.Account != "" && m.Account == to) {
			out = append(out, m)
		}
	}
	return out
}

// All returns every captured message, oldest first.
func (c *Capture) All() []Captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Captured{}, c.msgs...)
}
