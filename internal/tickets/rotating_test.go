package tickets

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
)

const testOrder = "8d0b7c1e-4c1a-4f55-9a43-2f1f0f2a9b10"

// secretFor is a ticket's rotation secret as a gate derives it from its
// kit: the event's gate key for the code's kid.
func secretFor(t testing.TB, c *Codec, tk Ticket, kid string) []byte {
	t.Helper()
	gks, err := c.GateKeys(tk.EventID)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gks {
		if g.KID == kid {
			return RotationSecret(g.Key, tk.ID, tk.Version)
		}
	}
	t.Fatalf("no gate key %s", kid)
	return nil
}

func TestRotatingCodeRoundTrips(t *testing.T) {
	c := mustCodec(t, mustKeyring(t, k1Doc))
	tk := ticket("e1", testOrder, "A-1-7", 3)
	static, secret, err := c.EncodeWithSecret(tk)
	if err != nil {
		t.Fatal(err)
	}
	if again := mustEncode(t, c, tk); again != static {
		t.Fatalf("EncodeWithSecret's code %q differs from Encode's %q", static, again)
	}
	// The owner's secret is the one a gate derives from its event's key.
	if gate := secretFor(t, c, tk, "k1"); !bytes.Equal(gate, secret) {
		t.Fatal("the gate derives another secret than the owner is given")
	}
	step := Step(time.Date(2030, 6, 1, 20, 0, 0, 0, time.UTC))
	code, err := RotatingCode(static, secret, step)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(code, "R2.k1.") || !strings.HasSuffix(code[:strings.LastIndexByte(code, '.')], "."+strconv.FormatInt(step, 10)) {
		t.Fatalf("rotating code %q", code)
	}
	got, form, err := c.DecodeScan(code)
	if err != nil || got != tk || !form.Rotating || form.Step != step {
		t.Fatalf("DecodeScan(%q) = %+v, %+v, %v", code, got, form, err)
	}
	got, form, err = c.DecodeScan(static)
	if err != nil || got != tk || form.Rotating {
		t.Fatalf("DecodeScan(static) = %+v, %+v, %v", got, form, err)
	}
	t.Logf("rotating code: %d characters (static %d)", len(code), len(static))
}

// What a gate key can and cannot do: it makes the rotating codes of its
// own event's tickets, and no other event's.
func TestGateKeysAreEventBound(t *testing.T) {
	c := mustCodec(t, mustKeyring(t, k1Doc))
	mine, other := ticket("e1", testOrder, "A-1-7", 1), ticket("e2", testOrder, "A-1-8", 1)
	otherStatic := mustEncode(t, c, other)
	step := Step(time.Now())
	// A scanner of e1 holds e1's gate key; it tries to refresh a code of
	// e2 it has seen.
	forged, err := RotatingCode(otherStatic, secretFor(t, c, Ticket{ID: other.ID, EventID: "e1", Version: 1}, "k1"), step)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.DecodeScan(forged); !errors.Is(err, ErrInvalidCode) {
		t.Fatalf("e1's gate key made an e2 code that decodes: %v", err)
	}
	// Another ticket's secret, or another version's, does not fit either.
	mineStatic := mustEncode(t, c, mine)
	for _, wrong := range [][]byte{
		secretFor(t, c, other, "k1"),
		RotationSecret(gateKeyFrom(gateRoot(mustKeyring(t, k1Doc).Keys[0]), "e1"), mine.ID, 2),
	} {
		code, _ := RotatingCode(mineStatic, wrong, step)
		if _, _, err := c.DecodeScan(code); !errors.Is(err, ErrInvalidCode) {
			t.Fatalf("a wrong secret made a code that decodes: %v", err)
		}
	}
	a, _ := c.GateKeys("e1")
	b, _ := c.GateKeys("e2")
	if bytes.Equal(a[0].Key, b[0].Key) {
		t.Fatal("two events share a gate key")
	}
}

// After a key rotation the gate kit lists a gate key per listed ticket
// key, and codes signed with the old key still rotate and decode.
func TestRotatingCodesSurviveKeyRotation(t *testing.T) {
	old := mustCodec(t, mustKeyring(t, k1Doc))
	tk := ticket("e1", testOrder, "GA-2", 1)
	static, secret, err := old.EncodeWithSecret(tk)
	if err != nil {
		t.Fatal(err)
	}
	rotated := mustCodec(t, mustKeyring(t, k2Doc))
	gks, err := rotated.GateKeys("e1")
	if err != nil || len(gks) != 2 {
		t.Fatalf("gate keys after rotation: %d, %v", len(gks), err)
	}
	code, _ := RotatingCode(static, secret, 1000)
	if got, form, err := rotated.DecodeScan(code); err != nil || got != tk || form.Step != 1000 {
		t.Fatalf("old key's rotating code after rotation: %+v, %v", got, err)
	}
}

func TestInWindowAllowsOneStepOfSkew(t *testing.T) {
	now := time.Date(2030, 6, 1, 20, 0, 10, 0, time.UTC)
	s := Step(now)
	for d, want := range map[int64]bool{-3: false, -2: false, -1: true, 0: true, 1: true, 2: false} {
		if got := InWindow(s+d, now); got != want {
			t.Errorf("InWindow(step%+d) = %v, want %v", d, got, want)
		}
	}
	if Step(time.Unix(-1, 0)) != -1 || Step(time.Unix(29, 0)) != 0 || Step(time.Unix(30, 0)) != 1 {
		t.Fatal("steps are not floor(unix / 30)")
	}
}

func TestDecodeScanRefusesMalformedRotatingCodes(t *testing.T) {
	c := mustCodec(t, mustKeyring(t, k1Doc))
	tk := ticket("e1", testOrder, "A-1-7", 1)
	static, secret, _ := c.EncodeWithSecret(tk)
	good, _ := RotatingCode(static, secret, 123456)
	cut := strings.LastIndexByte(good, '.')
	macPart := good[cut+1:]
	head := good[:strings.LastIndexByte(good[:cut], '.')]
	for name, code := range map[string]string{
		"leading zero step": head + ".0123456." + macPart,
		"negative step":     head + ".-123456." + macPart,
		"empty step":        head + ".." + macPart,
		"long step":         head + ".123456789012." + macPart,
		"other step":        head + ".123457." + macPart,
		"short mac":         good[:len(good)-2],
		"newline in mac":    good[:len(good)-2] + "\n" + good[len(good)-2:],
		"five parts":        good[:cut],
		"seven parts":       good + ".AA",
		"static tag":        "T2" + good[2:],
		"altered payload":   strings.Replace(good, ".A", ".B", 1),
		"too long":          good + strings.Repeat("A", MaxCodeLen),
	} {
		if _, _, err := c.DecodeScan(code); !errors.Is(err, ErrInvalidCode) {
			t.Errorf("%s: DecodeScan(%q) error = %v, want invalid", name, code, err)
		}
	}
	if _, err := RotatingCode(good, secret, 1); err == nil {
		t.Error("RotatingCode took a rotating code as static")
	}
}

// FuzzDecodeScan: no input panics, every refusal is an invalid-code
// error, and the only inputs that decode are codes the codec and a
// ticket's secret made (making them again gives the same text).
func FuzzDecodeScan(f *testing.F) {
	c := mustCodec(f, mustKeyring(f, k1Doc))
	for _, tk := range []Ticket{ticket("e1", testOrder, "A-1-7", 1), ticket(testOrder, "order-1", "GA-2", 300)} {
		static, secret, err := c.EncodeWithSecret(tk)
		if err != nil {
			f.Fatal(err)
		}
		code, _ := RotatingCode(static, secret, 59_000_000)
		f.Add(code)
		f.Add(static)
		f.Add(code[:len(code)-3])
	}
	f.Add("R2.k1.AA.AA.1.AAAAAAAAAAAAAAAA")
	f.Add("R2.....")
	f.Fuzz(func(t *testing.T, in string) {
		tk, form, err := c.DecodeScan(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidCode) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		static, secret, err := c.EncodeWithSecret(tk)
		if err != nil {
			t.Fatalf("decoded %q to %+v, which does not encode: %v", in, tk, err)
		}
		again := static
		if form.Rotating {
			again, _ = RotatingCode(static, secret, form.Step)
		}
		if again != in {
			t.Fatalf("decoded %q to %+v %+v, which encodes to %q", in, tk, form, again)
		}
	})
}
