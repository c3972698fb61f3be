package limits_test

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pb33f/go-yaml"

	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/openapi"
)

// bound is a numeric schema keyword at a place in the document: a JSON
// pointer (RFC 6901) to the schema, then the keyword.
type bound struct{ schema, keyword string }

func (b bound) String() string { return b.schema + "/" + b.keyword }

// stated is every number docs/openapi.yaml states as a limit, by where it
// says it, and the Go declaration it must equal. Keep one entry per place:
// the test fails on a place missing here as on a value that differs.
var stated = map[bound]int64{
	// Events and venue maps.
	{"/components/schemas/CreateEventRequest/properties/name", "maxLength"}:                                           limits.NameChars,
	{"/components/schemas/CreateEventRequest/properties/venue", "maxLength"}:                                          limits.NameChars,
	{"/components/schemas/Event/properties/name", "maxLength"}:                                                        limits.NameChars,
	{"/components/schemas/Event/properties/venue", "maxLength"}:                                                       limits.NameChars,
	{"/components/schemas/EventSummary/properties/name", "maxLength"}:                                                 limits.NameChars,
	{"/components/schemas/EventSummary/properties/venue", "maxLength"}:                                                limits.NameChars,
	{"/components/schemas/Section/properties/name", "maxLength"}:                                                      limits.SectionNameChars,
	{"/components/schemas/SectionSummary/properties/name", "maxLength"}:                                               limits.SectionNameChars,
	{"/components/schemas/ReservedSectionRequest/properties/name", "maxLength"}:                                       limits.SectionNameChars,
	{"/components/schemas/GASectionRequest/properties/name", "maxLength"}:                                             limits.SectionNameChars,
	{"/components/schemas/CreateEventRequest/properties/sections", "maxItems"}:                                        limits.Sections,
	{"/components/schemas/Event/properties/sections", "maxItems"}:                                                     limits.Sections,
	{"/components/schemas/EventSummary/properties/sections", "maxItems"}:                                              limits.Sections,
	{"/components/schemas/ReservedSectionRequest/properties/rows", "maxItems"}:                                        limits.RowsPerSection,
	{"/components/schemas/Section/properties/rows", "maxItems"}:                                                       limits.RowsPerSection,
	{"/components/schemas/Row/properties/seats", "maximum"}:                                                           limits.SeatsPerRow,
	{"/components/schemas/GASectionRequest/properties/capacity", "maximum"}:                                           limits.GACapacity,
	{"/components/schemas/Section/properties/capacity", "maximum"}:                                                    limits.EventCapacity,
	{"/components/schemas/SectionSummary/properties/capacity", "maximum"}:                                             limits.EventCapacity,
	{"/components/schemas/Event/properties/capacity", "maximum"}:                                                      limits.EventCapacity,
	{"/components/schemas/EventSummary/properties/capacity", "maximum"}:                                               limits.EventCapacity,
	{"/components/schemas/PriceCents", "maximum"}:                                                                     limits.PriceCents,
	{"/components/schemas/VenueShape/oneOf/0/properties/polygon", "maxItems"}:                                         limits.ShapePoints,
	{"/components/schemas/VenueCoordinate", "minimum"}:                                                                -limits.VenueExtent,
	{"/components/schemas/VenueCoordinate", "maximum"}:                                                                limits.VenueExtent,
	{"/components/schemas/Order/properties/amountCents", "maximum"}:                                                   limits.OrderAmountCents,
	{"/components/schemas/Pricing/properties/feeCents", "maximum"}:                                                    limits.FeeCents,
	{"/components/schemas/Pricing/properties/taxBasisPoints", "maximum"}:                                              limits.TaxBasisPoints,
	{"/components/schemas/Pricing/properties/seller", "maxLength"}:                                                    limits.NameChars,
	{"/components/schemas/EventList/properties/events", "maxItems"}:                                                   limits.EventsListed,
	{"/components/schemas/OrderList/properties/orders", "maxItems"}:                                                   limits.OrdersListed,
	{"/components/schemas/StaffOrderList/properties/orders", "maxItems"}:                                              limits.OrdersListed,
	{"/paths/~1v1~1me~1transfers/get/responses/200/content/application~1json/schema/properties/incoming", "maxItems"}: limits.TransfersListed,
	{"/paths/~1v1~1me~1transfers/get/responses/200/content/application~1json/schema/properties/outgoing", "maxItems"}: limits.TransfersListed,
	{"/components/schemas/AuditLog/properties/entries", "maxItems"}:                                                   limits.AuditListed,
	{"/components/schemas/GrantRequest/properties/events", "maxItems"}:                                                limits.ScannerEvents,

	// Hold time.
	{"/components/schemas/CreateEventRequest/properties/holdSeconds", "minimum"}: limits.MinHoldSeconds,
	{"/components/schemas/CreateEventRequest/properties/holdSeconds", "maximum"}: limits.MaxHoldSeconds,
	{"/components/schemas/CreateEventRequest/properties/holdSeconds", "default"}: limits.DefaultHoldSeconds,
	{"/components/schemas/Event/properties/holdSeconds", "minimum"}:              limits.MinHoldSeconds,
	{"/components/schemas/Event/properties/holdSeconds", "maximum"}:              limits.MaxHoldSeconds,
	{"/components/schemas/EventSummary/properties/holdSeconds", "minimum"}:       limits.MinHoldSeconds,
	{"/components/schemas/EventSummary/properties/holdSeconds", "maximum"}:       limits.MaxHoldSeconds,

	// Tickets per account, per hold, per order.
	{"/components/schemas/CreateEventRequest/properties/maxTicketsPerAccount", "maximum"}:                      limits.TicketsPerAccount,
	{"/components/schemas/CreateEventRequest/properties/maxTicketsPerAccount", "default"}:                      limits.DefaultTicketsPerAccount,
	{"/components/schemas/Event/properties/maxTicketsPerAccount", "maximum"}:                                   limits.TicketsPerAccount,
	{"/components/schemas/EventSummary/properties/maxTicketsPerAccount", "maximum"}:                            limits.TicketsPerAccount,
	{"/components/schemas/HoldRequest/properties/seats", "maxItems"}:                                           limits.TicketsPerAccount,
	{"/components/schemas/HoldRequest/properties/quantity", "maximum"}:                                         limits.TicketsPerAccount,
	{"/components/schemas/Order/properties/seats", "maxItems"}:                                                 limits.TicketsPerAccount,
	{"/components/schemas/Order/properties/quantity", "maximum"}:                                               limits.TicketsPerAccount,
	{"/components/schemas/Order/properties/tickets", "maxItems"}:                                               limits.TicketsPerAccount,
	{"/components/schemas/ErrorDetails/properties/seats", "maxItems"}:                                          limits.TicketsPerAccount,
	{"/paths/~1v1~1orders~1{orderId}~1tickets/get/responses/200/content/application~1json/schema", "maxItems"}: limits.TicketsPerOrder,

	// Admission rate and the waiting room.
	{"/components/schemas/CreateEventRequest/properties/queue/properties/admitPerMinute", "maximum"}: limits.AdmitPerMinute,
	{"/components/schemas/CreateEventRequest/properties/queue/properties/admitPerMinute", "default"}: limits.DefaultAdmitPerMinute,
	{"/components/schemas/QueueConfig/properties/admitPerMinute", "maximum"}:                         limits.AdmitPerMinute,
	{"/components/schemas/QueueStatus/properties/admitPerMinute", "maximum"}:                         limits.AdmitPerMinute,
	{"/components/schemas/SaleRequest/properties/admitPerMinute", "maximum"}:                         limits.AdmitPerMinute,
	{"/components/schemas/QueueReport/properties/admitPerMinute", "maximum"}:                         limits.AdmitPerMinute,
	{"/components/schemas/QueuePlace/properties/pollSeconds", "minimum"}:                             int64(limits.MinPollInterval / time.Second),
	{"/components/schemas/QueuePlace/properties/pollSeconds", "maximum"}:                             int64(limits.MaxPollInterval / time.Second),
	{"/components/schemas/ErrorDetails/properties/retryAfterSeconds", "maximum"}:                     int64(limits.RateWindow / time.Second),
	{"/components/schemas/Admission/properties/admissionToken", "maxLength"}:                         limits.AdmissionTokenBytes,
	{"/components/schemas/HoldRequest/properties/admissionToken", "maxLength"}:                       limits.AdmissionTokenBytes,

	// Presale codes.
	{"/components/schemas/AdmissionRequest/properties/presaleCode", "maxLength"}: limits.PresaleCodeChars,
	{"/components/schemas/PresaleCodesRequest/properties/count", "maximum"}:      limits.PresaleCodes,
	{"/components/schemas/PresaleCodesRequest/properties/uses", "maximum"}:       limits.PresaleUses,
	{"/components/schemas/PresaleCodesCreated/properties/codes", "maxItems"}:     limits.PresaleCodes,

	// The waiting list.
	{"/components/schemas/WaitlistJoinRequest/properties/quantity", "maximum"}:         limits.TicketsPerAccount,
	{"/components/schemas/WaitlistSettingsRequest/properties/offerMinutes", "maximum"}: limits.WaitlistMaxOfferMinutes,
	{"/components/schemas/WaitlistSummary/properties/offerMinutes", "maximum"}:         limits.WaitlistMaxOfferMinutes,
	{"/components/schemas/WaitlistSummary/properties/offerMinutes", "default"}:         limits.WaitlistDefaultOfferMinutes,

	// Identifiers and free text.
	{"/components/schemas/DevTokenRequest/properties/sub", "maxLength"}:                                                          limits.AccountIDBytes,
	{"/components/schemas/DevTokenRequest/properties/org", "maxLength"}:                                                          limits.AccountIDBytes,
	{"/components/parameters/IdempotencyKey/schema", "maxLength"}:                                                                limits.IdempotencyKeyBytes,
	{"/components/schemas/RefundRequest/properties/reason", "maxLength"}:                                                         limits.RefundReasonChars,
	{"/components/schemas/CancelRequest/properties/reason", "maxLength"}:                                                         limits.CancelReasonChars,
	{"/components/schemas/OrderDecline/properties/code", "maxLength"}:                                                            limits.DeclineCodeChars,
	{"/components/schemas/OrderDecline/properties/reason", "maxLength"}:                                                          limits.DeclineReasonChars,
	{"/components/schemas/WebhookEvent/properties/id", "maxLength"}:                                                              limits.ProviderIDBytes,
	{"/components/schemas/WebhookEvent/properties/type", "maxLength"}:                                                            limits.ProviderIDBytes,
	{"/paths/~1webhooks~1{provider}/post/parameters/0/schema", "maxLength"}:                                                      limits.SignatureHeaderBytes,
	{"/components/schemas/SandboxCompleteRequest/properties/delaySeconds", "maximum"}:                                            int64(limits.SandboxMaxDelay / time.Second),
	{"/components/schemas/SandboxDuplicateRequest/properties/delaySeconds", "maximum"}:                                           int64(limits.SandboxMaxDelay / time.Second),
	{"/components/schemas/CheckInResult/properties/firstScanGate", "maxLength"}:                                                  limits.GateBytes,
	{"/components/schemas/DevTokenRequest/properties/email", "maxLength"}:                                                        limits.EmailBytes,
	{"/paths/~1admin~1v1~1events~1{eventId}~1orders/get/parameters/2/schema", "maxLength"}:                                       limits.EmailBytes,
	{"/paths/~1dev~1mail/get/parameters/0/schema", "maxLength"}:                                                                  limits.EmailBytes,
	{"/paths/~1v1~1tickets~1{ticketId}~1transfers/post/requestBody/content/application~1json/schema/properties/to", "maxLength"}: limits.EmailBytes,

	// Seat management and comps (ADR 30).
	{"/components/schemas/Section/properties/wheelchair", "maxItems"}:                limits.MarkedSeats,
	{"/components/schemas/Section/properties/companion", "maxItems"}:                 limits.MarkedSeats,
	{"/components/schemas/ReservedSectionRequest/properties/wheelchair", "maxItems"}: limits.MarkedSeats,
	{"/components/schemas/ReservedSectionRequest/properties/companion", "maxItems"}:  limits.MarkedSeats,
	{"/components/schemas/SeatSelection/properties/seats", "maxItems"}:               limits.SeatsPerAction,
	{"/components/schemas/SeatMarkRequest/properties/seats", "maxItems"}:             limits.SeatsPerAction,
	{"/components/schemas/CompRequest/properties/seats", "maxItems"}:                 limits.CompSeats,
	{"/components/schemas/CompRequest/properties/quantity", "maximum"}:               limits.CompSeats,
	{"/components/schemas/CompRequest/properties/to", "maxLength"}:                   limits.EmailBytes,
	{"/components/schemas/QueueStatus/properties/drawPartDigits", "maximum"}:         limits.DrawPartDigits,
	{"/components/schemas/ErrorDetails/properties/drawPartDigits", "maximum"}:        limits.DrawPartDigits,
}

// notLimits are numeric keywords of the document that state no limit of
// the code, and why.
var notLimits = map[bound]string{
	{"/components/schemas/VenueShape/oneOf/0/properties/polygon/items", "maxItems"}: "a point is [x, y]: geometry, not a limit",
	{"/components/schemas/VenueAngle", "minimum"}:                                   "a half turn to the left: geometry, not a limit",
	{"/components/schemas/VenueAngle", "maximum"}:                                   "a half turn to the right: geometry, not a limit",
	{"/components/schemas/Order/if/properties/seats", "maxItems"}:                   "0 is the condition of an if/then (no seats: a section is required)",
	{"/components/schemas/QueueReport/properties/rateMultiplier", "maximum"}:        "a ratio: the inlet never admits faster than the organizer's rate",
	{"/components/parameters/PaymentId/schema", "maxLength"}:                        "a provider's payment id as the sandbox's routes accept it; the provider, not StarArena, sets its length",
}

// TestSpecLimitsMatchTheDeclaration fails when a limit that
// docs/openapi.yaml states as a schema keyword differs from this package,
// when the document states a limit this test does not know, or when an
// entry here no longer matches a place in the document.
func TestSpecLimitsMatchTheDeclaration(t *testing.T) {
	spec, err := openapi.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	found := collectBounds(spec.Root)
	if len(found) == 0 {
		t.Fatal("no limits found in the document: the walk is broken")
	}

	for _, b := range sortedKeys(found) {
		v := found[b]
		if _, ok := notLimits[b]; ok {
			continue
		}
		want, ok := stated[b]
		if !ok {
			t.Errorf("%s: %s states %s = %s, which no Go limit declares; add it to internal/limits and to stated (or to notLimits, saying why)",
				openapi.SpecFile, b.schema, b.keyword, v)
			continue
		}
		got, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Errorf("%s: %s is %q, not an integer", openapi.SpecFile, b, v)
			continue
		}
		if got != want {
			t.Errorf("%s: %s is %d; internal/limits says %d", openapi.SpecFile, b, got, want)
		}
	}
	for b := range stated {
		if _, ok := found[b]; !ok {
			t.Errorf("%s no longer states %s; update stated", openapi.SpecFile, b)
		}
	}
	for b := range notLimits {
		if _, ok := found[b]; !ok {
			t.Errorf("%s no longer states %s; update notLimits", openapi.SpecFile, b)
		}
	}
}

// figure is a number the document states in prose: the description at a
// pointer must match re, whose first group is the number.
type figure struct {
	pointer string
	re      string
	want    int64
}

var figures = []figure{
	{"/paths/~1v1~1events~1{eventId}~1queue/post/responses/429/description",
		`more than (\d+) joins a minute`, limits.JoinsPerMinute},
	{"/paths/~1v1~1events~1{eventId}~1admission/post/responses/429/description",
		`more than (\d+) admission requests a minute`, limits.AdmissionsPerMinute},
	{"/paths/~1v1~1events~1{eventId}~1holds/post/responses/429/description",
		`more than (\d+) hold requests for one event a minute`, limits.HoldsPerMinute},
	{"/paths/~1v1~1orders~1{orderId}~1payments/post/responses/429/description",
		`more than (\d+) payment requests a minute`, limits.PaymentsPerMinute},
	{"/paths/~1v1~1events~1{eventId}~1admission/post/description",
		`\((\d+) minutes after issue by default\)`, int64(limits.AdmissionTTL / time.Minute)},
	{"/paths/~1v1~1events~1{eventId}~1holds/post/responses/403/description",
		`more than (\d+) places in one request`, limits.TicketsPerAccount},
	{"/components/schemas/HoldRequest/properties/seats/description",
		`at most (\d+)\.`, limits.TicketsPerAccount},
	{"/components/schemas/CreateEventRequest/properties/name/description",
		`1–(\d+) characters remain`, limits.NameChars},
	{"/components/schemas/CreateEventRequest/properties/venue/description",
		`1–(\d+) characters remain`, limits.NameChars},
	{"/components/schemas/CreateEventRequest/properties/queue/description",
		`"admitPerMinute":(\d+)`, limits.DefaultAdmitPerMinute},
	{"/components/schemas/CreateEventRequest/properties/sections/description",
		`at most ([\d,]+) places`, limits.EventCapacity},
	{"/components/responses/PayloadTooLarge/description",
		`\((\d+) KiB unless stated\)`, limits.BodyBytes >> 10},
	{"/paths/~1admin~1v1~1events/post/requestBody/description",
		`^At most (\d+) MiB\.$`, limits.VenueBodyBytes >> 20},
	{"/paths/~1webhooks~1{provider}/post/requestBody/description",
		`^At most (\d+) KiB\.$`, limits.WebhookBodyBytes >> 10},
	{"/paths/~1sandbox~1payments~1{paymentId}~1complete/post/description",
		`at most (\d+) KiB\.`, limits.SandboxBodyBytes >> 10},
	{"/paths/~1sandbox~1orders~1{orderId}~1duplicate-capture/post/description",
		`at most (\d+) KiB\)`, limits.SandboxBodyBytes >> 10},
}

// TestSpecFiguresMatchTheDeclaration checks the limits the document
// states in its descriptions.
func TestSpecFiguresMatchTheDeclaration(t *testing.T) {
	spec, err := openapi.LoadDefault()
	if err != nil {
		t.Fatal(err)
	}
	index := nodes(spec.Root)
	for _, f := range figures {
		n := index[f.pointer]
		if n == nil || n.Kind != yaml.ScalarNode {
			t.Errorf("%s: no description at %s", openapi.SpecFile, f.pointer)
			continue
		}
		text := strings.Join(strings.Fields(n.Value), " ")
		m := regexp.MustCompile(f.re).FindStringSubmatch(text)
		if m == nil {
			t.Errorf("%s: %s no longer says %s: %q", openapi.SpecFile, f.pointer, f.re, text)
			continue
		}
		got, err := strconv.ParseInt(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		if err != nil || got != f.want {
			t.Errorf("%s: %s states %s; internal/limits says %d", openapi.SpecFile, f.pointer, m[1], f.want)
		}
	}
}

// limitKeywords are the schema keywords that state a limit. A minimum is
// one only above 1 (0 and 1 say "not negative", "at least one").
var limitKeywords = map[string]bool{"maximum": true, "maxItems": true, "maxLength": true, "minimum": true, "default": true}

// nodes indexes every node of the document by its JSON pointer. It reads
// the YAML as written, so a $ref is not followed and every place a number
// is written is visited once.
func nodes(root *yaml.Node) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	var walk func(n *yaml.Node, pointer string)
	walk = func(n *yaml.Node, pointer string) {
		if n.Kind == yaml.DocumentNode {
			for _, c := range n.Content {
				walk(c, pointer)
			}
			return
		}
		out[pointer] = n
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], pointer+"/"+escape(n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, pointer+"/"+strconv.Itoa(i))
			}
		}
	}
	walk(root, "")
	return out
}

// collectBounds records every numeric limit keyword of the document, by
// the pointer of the schema that states it.
func collectBounds(root *yaml.Node) map[bound]string {
	out := map[bound]string{}
	for pointer, n := range nodes(root) {
		if n.Kind != yaml.MappingNode {
			continue
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i].Value, n.Content[i+1]
			if limitKeywords[k] && v.Kind == yaml.ScalarNode && isNumber(v.Value) &&
				!(k == "minimum" && (v.Value == "0" || v.Value == "1")) {
				out[bound{pointer, k}] = v.Value
			}
		}
	}
	return out
}

func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

func isNumber(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

func sortedKeys(m map[bound]string) []bound {
	keys := make([]bound, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return fmt.Sprint(keys[i]) < fmt.Sprint(keys[j]) })
	return keys
}
