package tickets

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Rotating ticket codes (ADR 28): what a fan's phone shows changes every
// StepSeconds, so a screenshot or a photo of it stops admitting within a
// minute, while a gate still checks it with no network.
//
//	R2.<kid>.<payload>.<signature>.<step>.<mac>
//
//	R2.<kid>.<payload>.<signature>  the ticket's static code with its tag
//	           T2 changed to R2; the signature still covers "T2.<kid>.<payload>"
//	step       Unix seconds / StepSeconds, decimal without leading zeros
//	mac        base64url without padding of the first 12 bytes of
//	           HMAC-SHA256(secret, "R2." + step)
//
//	secret     HMAC-SHA256(gate key, "stararena/rotation/v1" 0x00 ticketId 0x00 version)
//	gate key   HMAC-SHA256(root(kid), "stararena/gate-key/v1" 0x00 eventId)
//	root(kid)  HMAC-SHA256(seed of the ticket key kid, "stararena/gate-root/v1")
//
// The Ed25519 signature says the platform issued the ticket; the MAC says
// the code was made by someone holding the ticket's secret (its owner's
// order page) for that step. A gate holds only its event's gate keys (the
// gate kit): enough to check, and to make, rotating codes of that event's
// tickets whose signed part it has seen; never a static code, never another
// event's code. Nothing new is stored: the secrets follow from the ticket
// keys, and a re-issue (a new version) changes the ticket's secret.
const (
	rotatingTag = "R2"
	// StepSeconds is how often a rotating code changes.
	StepSeconds = 30
	// SkewSteps is how many steps either side of the checker's own a code
	// may be: phones' and gates' clocks drift, and a code shown at the end
	// of its step is scanned in the next. A code therefore admits for 60 to
	// 90 seconds after it is made.
	SkewSteps = 1
	macBytes  = 12
	// maxStepDigits bounds the step: 11 digits reach the year 5000.
	maxStepDigits = 11
)

// Form says how a decoded code was shown.
type Form struct {
	// Rotating: an R2 code, made for Step.
	Rotating bool
	Step     int64
}

// Step is the rotation step of t.
func Step(t time.Time) int64 { return floorDiv(t.Unix(), StepSeconds) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// InWindow reports whether a code made for step may admit at now.
func InWindow(step int64, now time.Time) bool {
	d := step - Step(now)
	return d >= -SkewSteps && d <= SkewSteps
}

func mac(key []byte, parts ...string) []byte {
	m := hmac.New(sha256.New, key)
	for i, p := range parts {
		if i > 0 {
			m.Write([]byte{0})
		}
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// gateRoot is the root of a ticket key's gate keys: derived with its own
// label, so nothing derived from it says anything about the signing key.
func gateRoot(k Key) []byte { return mac(k.Private.Seed(), "stararena/gate-root/v1") }

func gateKeyFrom(root []byte, eventID string) []byte {
	return mac(root, "stararena/gate-key/v1", eventID)
}

// RotationSecret is the secret that makes a ticket's rotating codes, from
// the gate key of its event and its code's key.
func RotationSecret(gateKey []byte, ticketID string, version int) []byte {
	return mac(gateKey, "stararena/rotation/v1", ticketID, strconv.Itoa(version))
}

func stepMAC(secret []byte, step int64) []byte {
	return mac(secret, rotatingTag+"."+strconv.FormatInt(step, 10))[:macBytes]
}

// RotatingCode is the rotating code of a static code for step, made with
// the ticket's secret (what the fan's page does in the browser; Go has it
// for tests and tools).
func RotatingCode(static string, secret []byte, step int64) (string, error) {
	if !strings.HasPrefix(static, formatTag+".") || strings.Count(static, ".") != 3 {
		return "", fmt.Errorf("rotating code: %q is not a static ticket code", static)
	}
	if step < 0 {
		return "", fmt.Errorf("rotating code: step %d before 1970", step)
	}
	return rotatingTag + static[len(formatTag):] + "." + strconv.FormatInt(step, 10) + "." + b64.EncodeToString(stepMAC(secret, step)), nil
}

// GateKey is one event's key for checking rotating codes signed with the
// ticket key KID. It is secret: whoever holds it can make rotating codes
// of the event's tickets whose static code it has.
type GateKey struct {
	KID string
	Key []byte
}

// GateKeys lists eventID's gate keys, one per listed ticket key (for the
// event's gate devices).
func (c *Codec) GateKeys(eventID string) ([]GateKey, error) {
	k, err := c.current()
	if err != nil {
		return nil, err
	}
	out := make([]GateKey, 0, len(k.public))
	for _, p := range k.public {
		out = append(out, GateKey{KID: p.ID, Key: gateKeyFrom(k.roots[p.ID], eventID)})
	}
	return out, nil
}

// EncodeWithSecret is Encode and the ticket's rotation secret for the key
// that signed the code.
func (c *Codec) EncodeWithSecret(t Ticket) (code string, secret []byte, err error) {
	k, err := c.current()
	if err != nil {
		return "", nil, fmt.Errorf("encode ticket %s: %w", t.ID, err)
	}
	code, err = c.encodeWith(k, t)
	if err != nil {
		return "", nil, err
	}
	return code, RotationSecret(gateKeyFrom(k.roots[k.kid], t.EventID), t.ID, t.Version), nil
}

// splitRotating takes the step and MAC off a code tagged R2: the static
// code it carries, the step, and the MAC; err says why it is malformed.
func splitRotating(code string) (static string, step int64, m []byte, err error) {
	parts := strings.Split(code, ".")
	if len(parts) != 6 {
		return "", 0, nil, invalid("rotating code: not six dot-separated parts")
	}
	s := parts[4]
	if s == "" || len(s) > maxStepDigits || (len(s) > 1 && s[0] == '0') {
		return "", 0, nil, invalid("rotating code: malformed step")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", 0, nil, invalid("rotating code: malformed step")
		}
	}
	step, perr := strconv.ParseInt(s, 10, 64)
	if perr != nil {
		return "", 0, nil, invalid("rotating code: malformed step")
	}
	m, derr := b64.DecodeString(parts[5])
	if derr != nil || len(m) != macBytes {
		return "", 0, nil, invalid("rotating code: malformed mac")
	}
	return formatTag + "." + strings.Join(parts[1:4], "."), step, m, nil
}

// DecodeScan is Decode for what a gate scans: a static code or a rotating
// one. A rotating code's MAC is checked against the secret of the ticket
// it carries; whether its step is current is the caller's (see InWindow),
// so that a gate can say "expired" rather than "invalid".
func (c *Codec) DecodeScan(code string) (Ticket, Form, error) {
	if !strings.HasPrefix(code, rotatingTag+".") {
		t, err := c.Decode(code)
		return t, Form{}, err
	}
	if len(code) > MaxCodeLen {
		return Ticket{}, Form{}, invalid("too long")
	}
	for i := 0; i < len(code); i++ {
		// As in Decode: the base64 decoder would skip CR and LF.
		if c := code[i]; !idByte(c) && c != '.' {
			return Ticket{}, Form{}, invalid("character outside the code alphabet")
		}
	}
	static, step, m, err := splitRotating(code)
	if err != nil {
		return Ticket{}, Form{}, err
	}
	t, err := c.Decode(static)
	if err != nil {
		return Ticket{}, Form{}, err
	}
	k, err := c.current()
	if err != nil {
		return Ticket{}, Form{}, fmt.Errorf("decode ticket code: %w", err)
	}
	kid := static[len(formatTag)+1 : len(formatTag)+1+strings.IndexByte(static[len(formatTag)+1:], '.')]
	secret := RotationSecret(gateKeyFrom(k.roots[kid], t.EventID), t.ID, t.Version)
	if subtle.ConstantTimeCompare(stepMAC(secret, step), m) != 1 {
		return Ticket{}, Form{}, invalid("rotating code: bad mac")
	}
	return t, Form{Rotating: true, Step: step}, nil
}
