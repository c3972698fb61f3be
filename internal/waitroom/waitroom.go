// Package waitroom is the virtual waiting room in front of the purchase
// path: fans join a queue, get a place (a position), and are admitted in
// position order at a rate the organizer sets, capped by what the remaining
// inventory can use and slowed when the purchase path is unhealthy.
//
// The flow, and why it is shaped this way (docs/adr/0009-waiting-room.md):
//
//   - Join: POST /v1/events/{id}/queue is API Gateway's SQS-SendMessage
//     integration in AWS — no Lambda and no DynamoDB write per join. The
//     message is a Join (event, account, request time).
//   - Assign: the assigner drains SQS in batches. Before the draw (see
//     below) a join becomes a pending place; after it, a batch takes its
//     positions with ONE counter write (ADD n) and writes one place item per
//     new fan, each on its own partition key. A place belongs to the
//     account: a second join finds the place and changes nothing.
//   - Draw: fans who joined before the sale opened are ordered at opening by
//     a secret seed whose SHA-256 was published in queue-status before the
//     sale; the seed is revealed after, so anyone can re-compute the order
//     (internal/draw, scripts/verify-draw). Later joins are first come,
//     first served.
//   - Inlet: every few seconds the serving position advances by at most
//     admitPerMinute, never beyond what the remaining inventory can use, and
//     less when the purchase path is unhealthy.
//   - Admission: a fan whose position is served gets a signed admission
//     token (internal/admission); one the fan lets expire unused is counted
//     as abandoned and its slot goes back to the flow.
package waitroom

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/limits"
)

// Fan-visible queue states (API.md).
const (
	StatePending    = "PENDING"    // joined, no position yet
	StateWaiting    = "WAITING"    // position not served yet
	StateAdmittable = "ADMITTABLE" // served: may ask for an admission token
	StateAdmitted   = "ADMITTED"   // holds an unexpired admission token (or used it)
	StateExpired    = "EXPIRED"    // let the admission token expire unused
	StateSoldOut    = "SOLD_OUT"   // served too late or not at all: nothing left
)

// ParsedJoin is a validated join message.
type ParsedJoin struct {
	EventID  string
	Account  string
	JoinedAt time.Time
}

// JoinBody renders a join message as the join route's mapping
// (topology.JoinMessage) does: "join <eventId> <epoch ms> <account>".
func JoinBody(eventID, account string, at time.Time) string {
	return "join " + eventID + " " + strconv.FormatInt(at.UnixMilli(), 10) + " " + account
}

// ParseJoin validates a queue message body. A message that can never be
// valid is INVALID_REQUEST, so the assigner drops it instead of retrying it
// into the dead-letter queue. The account may arrive JSON-quoted (claims
// are JSON text in API Gateway's parameter mapping).
func ParseJoin(body string) (ParsedJoin, error) {
	if len(body) > 1024 {
		return ParsedJoin{}, apperr.New(apperr.Invalid, "join message over 1 KiB")
	}
	parts := strings.SplitN(body, " ", 4)
	if len(parts) != 4 || parts[0] != "join" {
		return ParsedJoin{}, apperr.New(apperr.Invalid, "join message is not \"join <event> <ms> <account>\"")
	}
	eventID, account := parts[1], parts[3]
	if strings.HasPrefix(account, `"`) {
		var unq string
		if err := json.Unmarshal([]byte(account), &unq); err != nil {
			return ParsedJoin{}, apperr.Wrap(err, apperr.Invalid, "join message has a badly quoted account")
		}
		account = unq
	}
	if !validID(eventID, 64) {
		return ParsedJoin{}, apperr.New(apperr.Invalid, "join message has no valid event id")
	}
	if !validID(account, limits.AccountIDBytes) {
		return ParsedJoin{}, apperr.New(apperr.Invalid, "join message has no valid account")
	}
	ms, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || ms <= 0 {
		return ParsedJoin{}, apperr.New(apperr.Invalid, "join message has no valid time")
	}
	return ParsedJoin{EventID: eventID, Account: account, JoinedAt: time.UnixMilli(ms).UTC()}, nil
}

// validID: ids become parts of DynamoDB keys joined by '#', and of the join
// line itself, where a leading '"' means "JSON-quoted": an id holding a
// quote could not be told apart, so none may (Cognito subs are UUIDs).
func validID(s string, max int) bool {
	if s == "" || len(s) > max || !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r == '#' || r == ' ' || r == '"' || r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// Place is one account's place in one event's queue.
type Place struct {
	EventID  string
	Account  string
	Entrant  string // public id in the draw (internal/draw.EntrantID)
	Position int64  // 0: pending
	JoinedAt time.Time
	// Lottery: joined before the sale opened, ordered by the draw.
	Lottery bool
	// Admission, once the fan asked for it.
	TokenID        string
	TokenExpiresAt time.Time
	AdmittedAt     time.Time
	UsedAt         time.Time
	Abandoned      bool
}

// Mark is the serving position at one time; the inlet keeps recent marks
// to know how many fans it served within the admission window.
type Mark struct {
	At      time.Time `json:"t"`
	Serving int64     `json:"s"`
}

// State is the queue state of one event, written by the inlet (and once by
// the draw). The position counter is a separate item the assigner writes.
type State struct {
	EventID string
	Version int64
	Serving int64
	SoldOut bool
	// Seed is the draw's secret until Drawn; SeedHash is public from the
	// start.
	Seed     string // hex
	SeedHash string
	Drawn    bool
	DrawnAt  time.Time
	Entrants int64 // fans in the draw
	// DrawLease serializes the draw between concurrent inlets.
	DrawLease time.Time
	// Multiplier scales admitPerMinute: 1 when healthy, lower after the
	// purchase path was unhealthy (multiplicative decrease, slow recovery).
	Multiplier float64
	// Carry is the fraction of a fan the rate allowed but did not admit yet.
	Carry    float64
	LastTick time.Time
	Marks    []Mark
	Health   string // last unhealthy reason ("" when healthy)
	// FinalSweep is when the last look for places left pending by the
	// draw happened; AbandonCheck is when to look for expired admissions.
	FinalSweep   time.Time
	AbandonCheck time.Time
	UpdatedAt    time.Time
}

// ServedAt returns the serving position at t according to the marks (the
// oldest mark's position before them).
func (s *State) ServedAt(t time.Time) int64 {
	var v int64
	for _, m := range s.Marks {
		if m.At.After(t) {
			break
		}
		v = m.Serving
	}
	return v
}

// Stats are the event's admission counters.
type Stats struct {
	Admitted  int64 `json:"admitted"`
	Used      int64 `json:"used"`
	Abandoned int64 `json:"abandoned"`
}

// Status is the public queue-status document (cached by the CDN).
type Status struct {
	EventID         string `json:"eventId"`
	SaleState       string `json:"saleState"`
	ServingPosition int64  `json:"servingPosition"`
	AdmitPerMinute  int    `json:"admitPerMinute"`
	// AdmittingPerMinute is the rate the inlet admits at now: the
	// organizer's, slowed while the purchase path is unhealthy. Pages
	// estimate waits and pace their polls from it.
	AdmittingPerMinute int64     `json:"admittingPerMinute"`
	SoldOut            bool      `json:"soldOut"`
	UpdatedAt          time.Time `json:"updatedAt"`
	ShuffleSeedHash    string    `json:"shuffleSeedHash"`
	ShuffleSeed        string    `json:"shuffleSeed,omitempty"`
	// PositionsGiven is the last position given out when the document was
	// made (0 until the draw). A join sent after the page read it gets a
	// later position: the page's lower bound instead of a read of its
	// place (ADR 9).
	PositionsGiven int64 `json:"positionsGiven"`
	// DrawEntrants is the number of fans in the draw and DrawPartDigits
	// the length of the entrant-id prefix naming a part of the published
	// draw (both once drawn).
	DrawEntrants   int64 `json:"drawEntrants,omitempty"`
	DrawPartDigits int   `json:"drawPartDigits,omitempty"`
}

// Me is a fan's own view of their place.
type Me struct {
	State           string `json:"state"`
	Position        int64  `json:"position,omitempty"`
	ServingPosition int64  `json:"servingPosition"`
	EtaSeconds      int64  `json:"etaSeconds"`
	// PollSeconds is how long the page should wait before it looks again:
	// about ETA/20, between 2 and 60 s, so a long wait costs ~20 requests.
	PollSeconds      int64     `json:"pollSeconds"`
	AdmissionExpires time.Time `json:"admissionExpiresAt,omitzero"`
}

// PollInterval is the page's polling interval for an ETA.
func PollInterval(eta time.Duration) time.Duration {
	return min(max(eta/20, limits.MinPollInterval), limits.MaxPollInterval)
}

// etaSeconds rounds up: a fan one place away is not "0 s" away.
func etaSeconds(position, serving int64, perMinute float64) int64 {
	d := eta(position, serving, perMinute)
	return int64((d + time.Second - 1) / time.Second)
}

// eta is how long until position is served at rate fans per minute.
func eta(position, serving int64, perMinute float64) time.Duration {
	ahead := position - serving
	if ahead <= 0 {
		return 0
	}
	if perMinute <= 0 {
		return time.Hour
	}
	return time.Duration(float64(ahead) / perMinute * float64(time.Minute))
}
