// Package presale holds presale codes: an organizer hands codes to a fan
// club, and in the presale window before the public sale only a fan with a
// valid code is admitted. Each code is good for a fixed number of uses,
// never more, however many fans try it at once (ADR 23).
package presale

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/catalog"
	"github.com/stararena/stararena/internal/clock"
	"github.com/stararena/stararena/internal/fault"
	"github.com/stararena/stararena/internal/limits"
)

// Limits of one creation request, and of what a fan may type before it
// is normalized.
const (
	MaxCodes       = limits.PresaleCodes
	MaxUsesPerCode = limits.PresaleUses
	MaxCodeChars   = limits.PresaleCodeChars
)

// A code is CodeLen characters of Crockford's base32 alphabet (no I, L, O
// or U: nothing to misread), shown in groups of four: 80 random bits.
const (
	CodeLen  = 16
	HintLen  = 4
	alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
)

// Code is one stored presale code. The code itself is never stored: Hash
// is the SHA-256 of its normalized text, Hint its first characters so an
// organizer can tell codes apart.
type Code struct {
	EventID   string
	Hash      string
	Hint      string
	Uses      int
	Used      int
	CreatedAt time.Time
}

// Store keeps codes and their redemptions (internal/dynamo).
type Store interface {
	// PutCodes writes new codes with Used 0.
	PutCodes(ctx context.Context, codes []Code) error
	// Redeem takes one use of the code for account, unless account has
	// redeemed it before (again: no use taken). Unknown code: fault.NotFound;
	// every use taken: fault.ConditionFailed. Concurrent redemptions never
	// take more than the code's uses.
	Redeem(ctx context.Context, eventID, hash, account string, at time.Time) (again bool, err error)
	// Codes lists an event's codes, oldest first.
	Codes(ctx context.Context, eventID string) ([]Code, error)
}

// Events reads events and sets their presale window (catalog.Service).
type Events interface {
	Get(ctx context.Context, id string) (catalog.Event, error)
	SetPresale(ctx context.Context, id string, opensAt time.Time) (catalog.Event, error)
}

// Service creates, lists and redeems presale codes.
type Service struct {
	store  Store
	events Events
	clock  clock.Clock
	log    *slog.Logger
	rand   io.Reader
}

// NewService builds the service; nil clock and logger take defaults.
func NewService(store Store, events Events, c clock.Clock, log *slog.Logger) *Service {
	if c == nil {
		c = clock.System{}
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{store: store, events: events, clock: c, log: log, rand: rand.Reader}
}

// CreateRequest is POST /admin/v1/events/{eventId}/presale-codes.
type CreateRequest struct {
	Count   int    `json:"count"`
	Uses    int    `json:"uses"`
	OpensAt string `json:"opensAt"`
}

// Created answers a creation: the codes in clear, this once.
type Created struct {
	EventID     string    `json:"eventId"`
	OpensAt     time.Time `json:"opensAt"`
	SaleOpensAt time.Time `json:"saleOpensAt"`
	Uses        int       `json:"uses"`
	Codes       []string  `json:"codes"`
}

// Create sets the event's presale window to open at req.OpensAt (until
// saleOpensAt) and makes req.Count new codes of req.Uses uses each.
func (s *Service) Create(ctx context.Context, eventID string, req CreateRequest) (Created, error) {
	if req.Count < 1 || req.Count > MaxCodes {
		return Created{}, apperr.New(apperr.Invalid, "count must be 1-%d", MaxCodes)
	}
	if req.Uses < 1 || req.Uses > MaxUsesPerCode {
		return Created{}, apperr.New(apperr.Invalid, "uses must be 1-%d", MaxUsesPerCode)
	}
	opensAt, err := time.Parse(time.RFC3339, req.OpensAt)
	if err != nil {
		return Created{}, apperr.New(apperr.Invalid, "opensAt must be an RFC 3339 time")
	}
	ev, err := s.events.SetPresale(ctx, eventID, opensAt)
	if err != nil {
		return Created{}, err
	}
	now := s.clock.Now()
	out := Created{EventID: eventID, OpensAt: ev.Presale.OpensAt, SaleOpensAt: ev.SaleOpensAt, Uses: req.Uses,
		Codes: make([]string, 0, req.Count)}
	codes := make([]Code, 0, req.Count)
	for range req.Count {
		c, err := s.newCode()
		if err != nil {
			return Created{}, err
		}
		out.Codes = append(out.Codes, Format(c))
		codes = append(codes, Code{EventID: eventID, Hash: Hash(c), Hint: c[:HintLen], Uses: req.Uses, CreatedAt: now})
	}
	if err := s.store.PutCodes(ctx, codes); err != nil {
		return Created{}, fmt.Errorf("store presale codes of %s: %w", eventID, err)
	}
	s.log.InfoContext(ctx, "presale codes created", "eventId", eventID, "count", req.Count, "uses", req.Uses,
		"opensAt", out.OpensAt)
	return out, nil
}

// newCode draws CodeLen characters; 256 is a multiple of 32, so each is
// uniform.
func (s *Service) newCode() (string, error) {
	b := make([]byte, CodeLen)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("draw presale code: %w", err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b), nil
}

// Format shows a normalized code in groups of four.
func Format(code string) string {
	var b strings.Builder
	for i := 0; i < len(code); i += 4 {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(code[i:min(i+4, len(code))])
	}
	return b.String()
}

// Normalize reads a code as a fan types it: any case, with or without
// dashes and spaces, O for 0 and I or L for 1. ok is false when the
// result cannot be a code.
func Normalize(typed string) (string, bool) {
	if len(typed) > MaxCodeChars {
		return "", false
	}
	var b strings.Builder
	for _, r := range strings.ToUpper(typed) {
		switch {
		case r == '-' || r == ' ':
			continue
		case r == 'O':
			r = '0'
		case r == 'I' || r == 'L':
			r = '1'
		}
		if !strings.ContainsRune(alphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != CodeLen {
		return "", false
	}
	return b.String(), true
}

// Hash is what the store keeps of a normalized code. Codes carry 80
// random bits, so a plain hash cannot be reversed by guessing.
func Hash(code string) string {
	h := sha256.Sum256([]byte(code))
	return hex.EncodeToString(h[:])
}

// Redeem takes one use of a typed code for account, or none when account
// redeemed it before. Unknown or malformed: PRESALE_CODE_UNKNOWN; every use
// taken: PRESALE_CODE_EXHAUSTED.
func (s *Service) Redeem(ctx context.Context, eventID, typed, account string) error {
	code, ok := Normalize(typed)
	if !ok {
		return unknown()
	}
	again, err := s.store.Redeem(ctx, eventID, Hash(code), account, s.clock.Now())
	switch {
	case fault.Is(err, fault.NotFound):
		return unknown()
	case fault.Is(err, fault.ConditionFailed):
		return apperr.Wrap(err, apperr.PresaleCodeExhausted, "this presale code has been used as many times as it allows")
	case err != nil:
		return fmt.Errorf("redeem presale code: %w", err)
	}
	s.log.InfoContext(ctx, "presale code redeemed", "eventId", eventID, "hint", code[:HintLen], "account", account, "again", again)
	return nil
}

func unknown() error {
	return apperr.New(apperr.PresaleCodeUnknown, "no such presale code for this event")
}

// CodeView is a code as the console shows it.
type CodeView struct {
	Hint      string    `json:"hint"`
	Uses      int       `json:"uses"`
	Used      int       `json:"used"`
	CreatedAt time.Time `json:"createdAt"`
}

// Summary is GET /admin/v1/events/{eventId}/presale-codes.
type Summary struct {
	EventID     string     `json:"eventId"`
	OpensAt     *time.Time `json:"opensAt"`
	SaleOpensAt time.Time  `json:"saleOpensAt"`
	Uses        int        `json:"uses"`
	Used        int        `json:"used"`
	Codes       []CodeView `json:"codes"`
}

// List reads an event's window and codes with their redemption counts.
func (s *Service) List(ctx context.Context, eventID string) (Summary, error) {
	ev, err := s.events.Get(ctx, eventID)
	if err != nil {
		return Summary{}, err
	}
	codes, err := s.store.Codes(ctx, eventID)
	if err != nil {
		return Summary{}, fmt.Errorf("list presale codes of %s: %w", eventID, err)
	}
	out := Summary{EventID: eventID, SaleOpensAt: ev.SaleOpensAt, Codes: make([]CodeView, 0, len(codes))}
	if ev.Presale != nil {
		at := ev.Presale.OpensAt
		out.OpensAt = &at
	}
	for _, c := range codes {
		out.Uses += c.Uses
		out.Used += c.Used
		out.Codes = append(out.Codes, CodeView{Hint: c.Hint, Uses: c.Uses, Used: c.Used, CreatedAt: c.CreatedAt})
	}
	return out, nil
}
