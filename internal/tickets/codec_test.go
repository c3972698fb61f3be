package tickets

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/orders"
)

func seed(b byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{b}, ed25519.SeedSize))
}

func mustKeyring(t testing.TB, doc string) Keyring {
	t.Helper()
	kr, err := ParseKeyring([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

func mustCodec(t testing.TB, kr Keyring) *Codec {
	t.Helper()
	c, err := NewCodec(kr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustEncode(t testing.TB, c *Codec, tk Ticket) string {
	t.Helper()
	code, err := c.Encode(tk)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// codeExpiry is the test tickets' code expiry: a day after a show.
var codeExpiry = time.Date(2030, 6, 2, 20, 0, 0, 0, time.UTC)

func ticket(eventID, orderID, seat string, version int) Ticket {
	return Ticket{ID: TicketID(orderID, seat), EventID: eventID, OrderID: orderID, Seat: seat, Version: version, ExpiresAt: codeExpiry}
}

var (
	k1Doc = `{"current":"k1","keys":[{"kid":"k1","seed":"` + seed('a') + `"}]}`
	k2Doc = `{"current":"k2","keys":[{"kid":"k2","seed":"` + seed('b') + `"},{"kid":"k1","seed":"` + seed('a') + `"}]}`
)

func TestCodeRoundTrips(t *testing.T) {
	c := mustCodec(t, mustKeyring(t, k1Doc))
	cases := map[string]Ticket{
		"UUIDOrderReservedSeat": ticket("e1", uuid.NewString(), "A-12-107", 1),
		"UUIDEventAndOrder":     ticket(uuid.NewString(), uuid.NewString(), "GA-3", 1),
		"TextIDs":               ticket("demo_2027", "order-7", "FLOOR-20", 7),
		"UppercaseUUIDIsText":   ticket("e1", strings.ToUpper(uuid.NewString()), "A-1-1", 1),
		"LongFields":            ticket(strings.Repeat("e", 64), strings.Repeat("o", 64), strings.Repeat("s", 64), 1<<31-1),
	}
	for name, tk := range cases {
		t.Run(name, func(t *testing.T) {
			code := mustEncode(t, c, tk)
			got, err := c.Decode(code)
			if err != nil {
				t.Fatalf("decode %q: %v", code, err)
			}
			if got != tk {
				t.Fatalf("got %+v, want %+v", got, tk)
			}
			if again := mustEncode(t, c, got); again != code {
				t.Fatalf("encoding is not deterministic: %q vs %q", again, code)
			}
			if len(code) > MaxCodeLen {
				t.Fatalf("code is %d bytes", len(code))
			}
		})
	}
	t.Run("TypicalLength", func(t *testing.T) {
		kr, err := GenerateKeyring()
		if err != nil {
			t.Fatal(err)
		}
		code := mustEncode(t, mustCodec(t, kr), ticket(uuid.NewString(), uuid.NewString(), "A-12-107", 1))
		if len(code) > 180 {
			t.Fatalf("typical code is %d characters: %s", len(code), code)
		}
		t.Logf("typical code (%d characters): %s", len(code), code)
	})
}

func TestEncodeRefusesBadTickets(t *testing.T) {
	c := mustCodec(t, mustKeyring(t, k1Doc))
	good := ticket("e1", "o1", "A-1-1", 1)
	cases := map[string]func(*Ticket){
		"WrongID":      func(t *Ticket) { t.ID = TicketID("o2", "A-1-1") },
		"ZeroVersion":  func(t *Ticket) { t.Version = 0 },
		"SeatWithDot":  func(t *Ticket) { t.Seat = "A.1"; t.ID = TicketID(t.OrderID, t.Seat) },
		"EmptyEvent":   func(t *Ticket) { t.EventID = "" },
		"LongOrder":    func(t *Ticket) { t.OrderID = strings.Repeat("o", 65); t.ID = TicketID(t.OrderID, t.Seat) },
		"HugeVersion":  func(t *Ticket) { t.Version = 1 << 31 },
		"NegativeVers": func(t *Ticket) { t.Version = -1 },
		"NoExpiry":     func(t *Ticket) { t.ExpiresAt = time.Time{} },
	}
	for name, mut := range cases {
		t.Run(name, func(t *testing.T) {
			tk := good
			mut(&tk)
			if code, err := c.Encode(tk); err == nil {
				t.Fatalf("encoded %+v as %q", tk, code)
			}
		})
	}
}

func TestDecodeRefusesEveryMisuse(t *testing.T) {
	c := mustCodec(t, mustKeyring(t, k1Doc))
	code := mustEncode(t, c, ticket("e1", uuid.NewString(), "A-1-7", 1))
	parts := strings.Split(code, ".")
	other := mustCodec(t, mustKeyring(t, `{"current":"k1","keys":[{"kid":"k1","seed":"`+seed('z')+`"}]}`))
	forged := mustEncode(t, other, ticket("e1", uuid.NewString(), "A-1-7", 1))
	// A payload for another seat under the original signature.
	p, _ := b64.DecodeString(parts[2])
	p[len(p)-7] ^= 0x01 // last byte of the seat (before the version's and the expiry's varints)
	tampered := parts[0] + "." + parts[1] + "." + b64.EncodeToString(p) + "." + parts[3]
	flipped := []byte(parts[3])
	flipped[10] = map[bool]byte{true: 'B', false: 'A'}[flipped[10] == 'A']

	cases := map[string]string{
		"Empty":           "",
		"Oversized":       code + strings.Repeat("A", MaxCodeLen),
		"Garbage":         "hello",
		"TamperedPayload": tampered,
		"TamperedSig":     parts[0] + "." + parts[1] + "." + parts[2] + "." + string(flipped),
		"WrongKey":        forged,
		"UnknownKID":      parts[0] + ".k9." + parts[2] + "." + parts[3],
		"OtherFormat":     "T3." + strings.Join(parts[1:], "."),
		"TruncatedSig":    code[:len(code)-1],
		"TruncatedHalf":   code[:len(code)/2],
		"NoSig":           strings.Join(parts[:3], "."),
		"ExtraPart":       code + ".x",
		"NewlineInSig":    parts[0] + "." + parts[1] + "." + parts[2] + "." + parts[3][:20] + "\n" + parts[3][20:],
		"PaddedSig":       code + "==",
		"Whitespace":      " " + code,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := c.Decode(in)
			var ice *InvalidCodeError
			if !errors.Is(err, ErrInvalidCode) || !errors.As(err, &ice) || ice.Reason == "" {
				t.Fatalf("Decode = %+v, %v; want an *InvalidCodeError", got, err)
			}
			if got != (Ticket{}) {
				t.Fatalf("a refused code returned %+v", got)
			}
		})
	}
}

// A code signed without an expiry is refused however good its signature:
// the version 1 format, and a version 2 payload cut before its expiry.
func TestDecodeRefusesCodesWithoutExpiry(t *testing.T) {
	kr := mustKeyring(t, k1Doc)
	c := mustCodec(t, kr)
	tk := ticket("e1", uuid.NewString(), "A-1-7", 1)
	full := encodePayload(tk)
	withoutExp := binary.AppendUvarint(appendField(appendField(appendField(nil, tk.EventID), tk.OrderID), tk.Seat), uint64(tk.Version))
	if !bytes.HasPrefix(full, withoutExp) || len(full) == len(withoutExp) {
		t.Fatal("the payload no longer ends in its expiry")
	}
	sign := func(tag string, payload []byte) string {
		signed := tag + ".k1." + b64.EncodeToString(payload)
		return signed + "." + b64.EncodeToString(ed25519.Sign(kr.Keys[0].Private, []byte(signed)))
	}
	for name, code := range map[string]string{
		"Version1":         sign("T1", withoutExp),
		"Version2NoExpiry": sign("T2", withoutExp),
		"ZeroExpiry":       sign("T2", append(append([]byte(nil), withoutExp...), 0)),
	} {
		t.Run(name, func(t *testing.T) {
			if got, err := c.Decode(code); !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("decoded %q to %+v, %v", code, got, err)
			}
		})
	}
	if got, err := c.Decode(sign("T2", full)); err != nil || !got.ExpiresAt.Equal(codeExpiry) {
		t.Fatalf("the same payload with its expiry: %+v, %v", got, err)
	}
}

func TestRotationKeepsOldCodesValid(t *testing.T) {
	old := mustCodec(t, mustKeyring(t, k1Doc))
	rotated := mustCodec(t, mustKeyring(t, k2Doc))
	tk := ticket("e1", uuid.NewString(), "A-1-1", 1)
	oldCode := mustEncode(t, old, tk)

	if got, err := rotated.Decode(oldCode); err != nil || got != tk {
		t.Fatalf("old code after rotation: %+v, %v", got, err)
	}
	newCode := mustEncode(t, rotated, tk)
	if !strings.HasPrefix(newCode, "T2.k2.") {
		t.Fatalf("rotated codec signs with %q", newCode[:6])
	}
	if _, err := old.Decode(newCode); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a codec without k2 accepted its code: %v", err)
	}
	retired := mustCodec(t, mustKeyring(t, `{"current":"k2","keys":[{"kid":"k2","seed":"`+seed('b')+`"}]}`))
	if _, err := retired.Decode(oldCode); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("a retired key still verifies: %v", err)
	}
	if pks, err := rotated.PublicKeys(); err != nil || len(pks) != 2 {
		t.Fatalf("public keys = %d (%v)", len(pks), err)
	}
}

func TestParseKeyringRefusesBadDocuments(t *testing.T) {
	cases := map[string]string{
		"NotJSON":        `nope`,
		"UnknownField":   `{"current":"k1","keys":[],"extra":1}`,
		"ShortSeed":      `{"current":"k1","keys":[{"kid":"k1","seed":"YWJj"}]}`,
		"CurrentMissing": `{"current":"k3","keys":[{"kid":"k1","seed":"` + seed('a') + `"}]}`,
		"DuplicateKID":   `{"current":"k1","keys":[{"kid":"k1","seed":"` + seed('a') + `"},{"kid":"k1","seed":"` + seed('b') + `"}]}`,
		"KIDWithDot":     `{"current":"k.1","keys":[{"kid":"k.1","seed":"` + seed('a') + `"}]}`,
		"KIDTooLong":     `{"current":"` + strings.Repeat("k", 17) + `","keys":[{"kid":"` + strings.Repeat("k", 17) + `","seed":"` + seed('a') + `"}]}`,
		"NoKeys":         `{"current":"k1","keys":[]}`,
	}
	for name, doc := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := ParseKeyring([]byte(doc)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestTicketIDsAreDeterministic(t *testing.T) {
	a := TicketID("o1", "A-1-1")
	if a != TicketID("o1", "A-1-1") {
		t.Fatal("same inputs, different ids")
	}
	if len(a) != 16 || strings.Trim(a, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		t.Fatalf("id %q: want 16 lowercase base32 characters", a)
	}
	for _, other := range []string{TicketID("o1", "A-1-2"), TicketID("o2", "A-1-1"), TicketID("o1A-1-", "1")} {
		if other == a {
			t.Fatalf("collision: %s", other)
		}
	}
}

func TestForListsOneTicketPerPlace(t *testing.T) {
	t.Run("GAQuantityThree", func(t *testing.T) {
		ts, err := For(orders.Order{ID: "o1", EventID: "e1", Section: "GA", Quantity: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(ts) != 3 || ts[0].Seat != "GA-1" || ts[1].Seat != "GA-2" || ts[2].Seat != "GA-3" {
			t.Fatalf("tickets = %+v", ts)
		}
		for _, tk := range ts {
			if tk.ID != TicketID("o1", tk.Seat) || tk.Version != 1 || tk.EventID != "e1" {
				t.Fatalf("ticket = %+v", tk)
			}
		}
	})
	t.Run("ReservedInOrderSeatOrder", func(t *testing.T) {
		ts, err := For(orders.Order{ID: "o1", EventID: "e1", Seats: []string{"B-2-1", "A-1-1"}})
		if err != nil || len(ts) != 2 || ts[0].Seat != "B-2-1" || ts[1].Seat != "A-1-1" {
			t.Fatalf("tickets = %+v, %v", ts, err)
		}
	})
	bad := map[string]orders.Order{
		"NoPlaces":      {ID: "o1", EventID: "e1"},
		"DuplicateSeat": {ID: "o1", EventID: "e1", Seats: []string{"A-1-1", "A-1-1"}},
		"TooMany":       {ID: "o1", EventID: "e1", Quantity: MaxTicketsPerOrder + 1},
		"BadSeat":       {ID: "o1", EventID: "e1", Seats: []string{"A 1"}},
		"BadOrderID":    {ID: "o#1", EventID: "e1", Quantity: 1},
	}
	for name, o := range bad {
		t.Run(name, func(t *testing.T) {
			if ts, err := For(o); err == nil {
				t.Fatalf("tickets = %+v", ts)
			}
		})
	}
}

// FuzzDecode: no input panics, and the only inputs that decode are codes
// the codec made (re-encoding gives the same text). The same input is also
// fed to the payload parser, which otherwise sits behind the signature.
func FuzzDecode(f *testing.F) {
	c := mustCodec(f, mustKeyring(f, k1Doc))
	for _, tk := range []Ticket{
		ticket("e1", "8d0b7c1e-4c1a-4f55-9a43-2f1f0f2a9b10", "A-1-7", 1),
		ticket("8d0b7c1e-4c1a-4f55-9a43-2f1f0f2a9b10", "order-1", "GA-2", 300),
	} {
		code := mustEncode(f, c, tk)
		f.Add(code)
		f.Add(code[:len(code)-3])
		p, _ := b64.DecodeString(strings.Split(code, ".")[2])
		f.Add(string(p))
	}
	f.Add("T2.k1..")
	f.Add("T2.k1.AA.AA")
	f.Add(string([]byte{0xFF, 1, 2}))
	f.Fuzz(func(t *testing.T, in string) {
		if tk, err := c.Decode(in); err == nil {
			again, err := c.Encode(tk)
			if err != nil || again != in {
				t.Fatalf("decoded %q to %+v, which encodes to %q (%v)", in, tk, again, err)
			}
		} else if !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("untyped error %v", err)
		}
		if tk, err := parsePayload([]byte(in)); err == nil {
			if p := encodePayload(tk); string(p) != in {
				t.Fatalf("payload %x parsed to %+v, which encodes to %x", in, tk, p)
			}
		}
	})
}
