package tickets

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/stararena/stararena/internal/keyring"
)

// Ticket code format, version 2 (typically 150-180 characters):
//
//	T2.<kid>.<payload>.<signature>
//
//	kid        the signing key's id: 1-16 of [A-Za-z0-9_-]
//	payload    base64url without padding of
//	             field(eventId) field(orderId) field(seat) uvarint(version)
//	             uvarint(exp: Unix seconds after which the code admits no one)
//	           field: 0xFF and the 16 bytes of a UUID when the value is a
//	           canonical lowercase UUID (order ids are), else one length byte
//	           (1-64) and the value's ASCII bytes
//	signature  base64url without padding of the 64-byte Ed25519 signature
//	           of the ASCII text "T2.<kid>.<payload>"
//
// Every code carries an expiry, and Decode refuses a code without one
// (version 1 had none: a leaked code admitted forever). The ticket id is
// not carried: it is TicketID(orderId, seat), so the
// signature covers it too. The signed text includes the format tag and the
// kid, so neither can be swapped. The encoding is canonical (one code per
// ticket, version and key): Decode refuses every other spelling, and
// Ed25519 as Go implements it refuses non-canonical signatures, so a code
// cannot be altered into another code that verifies.
//
// The signature (86 characters) is most of the code; the payload is about
// 45 bytes with UUID ids. Base64url is not QR "alphanumeric", so the QR code
// uses byte mode: about version 8-9 (49-53 modules) at medium correction.
const (
	formatTag = "T2"
	// MaxCodeLen bounds what Decode and a QR renderer (internal/ticketqr)
	// look at.
	MaxCodeLen = 512
	uuidTag    = 0xFF
	maxVersion = 1<<31 - 1
	maxExpiry  = 1<<40 - 1 // far beyond any show; bounds the varint
)

// ErrInvalidCode is matched (errors.Is) by every Decode failure.
var ErrInvalidCode = errors.New("invalid ticket code")

// InvalidCodeError says why a code was refused. Check-in turns it into the
// result INVALID; the reason is for logs only.
type InvalidCodeError struct {
	Reason string
}

func (e *InvalidCodeError) Error() string { return "invalid ticket code: " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalidCode) true.
func (e *InvalidCodeError) Unwrap() error { return ErrInvalidCode }

func invalid(reason string) error { return &InvalidCodeError{Reason: reason} }

// Key and Keyring are the shared Ed25519 key ring (internal/keyring).
//
// Rotation: add a new key and make it current; keep the previous keys
// listed for as long as codes they signed may be shown. Unlike admission
// tokens (minutes), ticket codes live until the show: a fan may have saved
// a screenshot weeks earlier. Remove an old key only after every event whose
// tickets it signed has passed, or re-issue those tickets first.
type (
	Key     = keyring.Key
	Keyring = keyring.Ring
)

// GenerateKeyring makes a one-key ring (the local stack's).
func GenerateKeyring() (Keyring, error) { return keyring.Generate("t") }

// ParseKeyring reads the secret document (the same shape as the admission
// keys).
func ParseKeyring(doc []byte) (Keyring, error) { return keyring.Parse(doc, "ticket") }

// PublicKey is a verification key a gate device can hold to check codes
// offline.
type PublicKey struct {
	ID  string
	Key ed25519.PublicKey
}

// Codec encodes and verifies ticket codes. Its keys come from a
// keyring.Source: read when a code is first encoded or decoded, and again
// after the source's TTL, so a rotated keyring is used without a redeploy
// and a function that never touches a code never reads the keys. It is
// safe for concurrent use.
type Codec struct {
	src *keyring.Source

	mu   sync.Mutex
	keys *codecKeys
}

// codecKeys are the keys of one keyring version.
type codecKeys struct {
	version uint64
	kid     string
	signer  ed25519.PrivateKey
	verify  map[string]ed25519.PublicKey
	public  []PublicKey
	// roots derive each key's per-event gate keys (rotating.go).
	roots map[string][]byte
}

// NewCodec builds a codec from a keyring, checking it now.
func NewCodec(kr Keyring) (*Codec, error) {
	c := NewCodecFrom(keyring.Static(kr))
	if _, err := c.current(); err != nil {
		return nil, err
	}
	return c, nil
}

// NewCodecFrom builds a codec whose keys src reads on first use.
func NewCodecFrom(src *keyring.Source) *Codec { return &Codec{src: src} }

// current returns the keys of the source's current keyring, built again
// only when its version changes.
func (c *Codec) current() (*codecKeys, error) {
	kr, version, err := c.src.Current()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.keys != nil && c.keys.version == version {
		return c.keys, nil
	}
	if err := kr.Validate("ticket"); err != nil {
		return nil, err
	}
	k := &codecKeys{version: version, kid: kr.Current, verify: make(map[string]ed25519.PublicKey, len(kr.Keys)),
		roots: make(map[string][]byte, len(kr.Keys))}
	for _, key := range kr.Keys {
		pub := key.Private.Public().(ed25519.PublicKey)
		k.verify[key.ID] = pub
		k.public = append(k.public, PublicKey{ID: key.ID, Key: pub})
		k.roots[key.ID] = gateRoot(key)
		if key.ID == kr.Current {
			k.signer = key.Private
		}
	}
	c.keys = k
	return k, nil
}

// PublicKeys lists the verification keys (for offline gate devices).
func (c *Codec) PublicKeys() ([]PublicKey, error) {
	k, err := c.current()
	if err != nil {
		return nil, err
	}
	return append([]PublicKey(nil), k.public...), nil
}

var b64 = base64.RawURLEncoding.Strict()

// Encode signs t with the current key.
func (c *Codec) Encode(t Ticket) (string, error) {
	k, err := c.current()
	if err != nil {
		return "", fmt.Errorf("encode ticket %s: %w", t.ID, err)
	}
	return c.encodeWith(k, t)
}

func (c *Codec) encodeWith(k *codecKeys, t Ticket) (string, error) {
	if !validField(t.EventID) || !validField(t.OrderID) || !validField(t.Seat) {
		return "", fmt.Errorf("encode ticket %s: event, order and seat must be 1-%d of [A-Za-z0-9_-]", t.ID, maxField)
	}
	if t.Version < 1 || t.Version > maxVersion {
		return "", fmt.Errorf("encode ticket %s: version %d out of range", t.ID, t.Version)
	}
	if t.ID != TicketID(t.OrderID, t.Seat) {
		return "", fmt.Errorf("encode ticket %s: id is not TicketID(%s, %s)", t.ID, t.OrderID, t.Seat)
	}
	if t.ExpiresAt.Unix() <= 0 {
		return "", fmt.Errorf("encode ticket %s: a code must expire", t.ID)
	}
	signed := formatTag + "." + k.kid + "." + b64.EncodeToString(encodePayload(t))
	sig := ed25519.Sign(k.signer, []byte(signed))
	return signed + "." + b64.EncodeToString(sig), nil
}

// Decode verifies code's signature against the key its kid names and
// returns the ticket. Every failure is an *InvalidCodeError, except keys
// that could not be read (a code is not invalid for that). Decode does not
// know about revocation, re-issues or scans: CheckIn does.
func (c *Codec) Decode(code string) (Ticket, error) {
	switch {
	case code == "":
		return Ticket{}, invalid("empty")
	case len(code) > MaxCodeLen:
		return Ticket{}, invalid("too long")
	}
	for i := 0; i < len(code); i++ {
		// The base64 decoder skips CR and LF even in strict mode: refuse
		// anything outside the code alphabet so each code has one spelling.
		if c := code[i]; !idByte(c) && c != '.' {
			return Ticket{}, invalid("character outside the code alphabet")
		}
	}
	parts := strings.SplitN(code, ".", 5)
	if len(parts) != 4 {
		return Ticket{}, invalid("not four dot-separated parts")
	}
	if parts[0] != formatTag {
		return Ticket{}, invalid("unsupported format")
	}
	k, err := c.current()
	if err != nil {
		return Ticket{}, fmt.Errorf("decode ticket code: %w", err)
	}
	pub, ok := k.verify[parts[1]]
	if !ok {
		return Ticket{}, invalid("unknown key")
	}
	sig, err := b64.DecodeString(parts[3])
	if err != nil || len(sig) != ed25519.SignatureSize {
		return Ticket{}, invalid("malformed signature")
	}
	signed := code[:len(code)-len(parts[3])-1]
	if !ed25519.Verify(pub, []byte(signed), sig) {
		return Ticket{}, invalid("bad signature")
	}
	// Only signed payloads are parsed from here on.
	p, err := b64.DecodeString(parts[2])
	if err != nil {
		return Ticket{}, invalid("malformed payload")
	}
	t, err := parsePayload(p)
	if err != nil {
		return Ticket{}, err
	}
	return t, nil
}

func encodePayload(t Ticket) []byte {
	p := make([]byte, 0, 48)
	p = appendField(p, t.EventID)
	p = appendField(p, t.OrderID)
	p = appendField(p, t.Seat)
	p = binary.AppendUvarint(p, uint64(t.Version))
	return binary.AppendUvarint(p, uint64(t.ExpiresAt.Unix()))
}

func appendField(p []byte, v string) []byte {
	if u, ok := canonicalUUID(v); ok {
		p = append(p, uuidTag)
		return append(p, u[:]...)
	}
	p = append(p, byte(len(v)))
	return append(p, v...)
}

func canonicalUUID(v string) (uuid.UUID, bool) {
	if len(v) != 36 {
		return uuid.UUID{}, false
	}
	u, err := uuid.Parse(v)
	return u, err == nil && u.String() == v
}

// parsePayload reads a payload and refuses every non-canonical spelling.
func parsePayload(p []byte) (Ticket, error) {
	var fields [3]string
	for i := range fields {
		if len(p) == 0 {
			return Ticket{}, invalid("payload too short")
		}
		tag := p[0]
		p = p[1:]
		switch {
		case tag == uuidTag:
			if len(p) < 16 {
				return Ticket{}, invalid("payload too short")
			}
			fields[i] = uuid.UUID(p[:16]).String()
			p = p[16:]
		case tag >= 1 && tag <= maxField:
			if len(p) < int(tag) {
				return Ticket{}, invalid("payload too short")
			}
			v := string(p[:tag])
			p = p[tag:]
			if !validField(v) {
				return Ticket{}, invalid("payload field has characters outside [A-Za-z0-9_-]")
			}
			if _, isUUID := canonicalUUID(v); isUUID {
				return Ticket{}, invalid("payload spells a UUID as text")
			}
			fields[i] = v
		default:
			return Ticket{}, invalid("payload field length out of range")
		}
	}
	v, n := binary.Uvarint(p)
	if n <= 0 || v < 1 || v > maxVersion || len(binary.AppendUvarint(nil, v)) != n {
		return Ticket{}, invalid("payload version malformed")
	}
	p = p[n:]
	exp, n := binary.Uvarint(p)
	if n <= 0 || n != len(p) || exp < 1 || exp > maxExpiry || len(binary.AppendUvarint(nil, exp)) != n {
		return Ticket{}, invalid("payload has no expiry or a malformed one")
	}
	t := Ticket{EventID: fields[0], OrderID: fields[1], Seat: fields[2], Version: int(v), ExpiresAt: time.Unix(int64(exp), 0).UTC()}
	t.ID = TicketID(t.OrderID, t.Seat)
	return t, nil
}
