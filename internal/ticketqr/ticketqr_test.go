package ticketqr

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	goqr "github.com/piglig/go-qr"

	"github.com/stararena/stararena/internal/tickets"
)

// ticketCode is a real signed code of a reserved seat, as the service shows.
func ticketCode(t *testing.T) string {
	t.Helper()
	seed := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{'a'}, ed25519.SeedSize))
	kr, err := tickets.ParseKeyring([]byte(`{"current":"k1","keys":[{"kid":"k1","seed":"` + seed + `"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := tickets.NewCodec(kr)
	if err != nil {
		t.Fatal(err)
	}
	orderID := uuid.NewString()
	code, err := c.Encode(tickets.Ticket{ID: tickets.TicketID(orderID, "A-12-107"), EventID: uuid.NewString(), OrderID: orderID,
		Seat: "A-12-107", Version: 1, ExpiresAt: time.Now().Add(24 * time.Hour).Truncate(time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func TestDataURLIsThePNGOfTheCode(t *testing.T) {
	code := ticketCode(t)
	url, err := DataURL(code)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(url, prefix) {
		t.Fatalf("url starts %q", url[:30])
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, prefix))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	// A scanner reads the code back: go-qr's decoder is an implementation
	// independent of the encoder, so this checks the symbol, not only the
	// drawing.
	got, err := goqr.Decode(img)
	if err != nil {
		t.Fatalf("the QR image does not decode: %v", err)
	}
	if got != code {
		t.Fatalf("the QR image decodes to %q, want %q", got, code)
	}
	// Each module is a whole square of pixels inside a light quiet zone:
	// sample each module's centre against the symbol.
	bm, err := qrModules(code)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if b.Dx() != b.Dy() || b.Dx() != (len(bm)+2*qrQuietModules)*qrPixelsPerModule {
		t.Fatalf("image %v for %d modules", b, len(bm))
	}
	for y := -qrQuietModules; y < len(bm)+qrQuietModules; y++ {
		for x := -qrQuietModules; x < len(bm)+qrQuietModules; x++ {
			want := y >= 0 && y < len(bm) && x >= 0 && x < len(bm) && bm[y][x]
			px, py := (x+qrQuietModules)*qrPixelsPerModule+qrPixelsPerModule/2, (y+qrQuietModules)*qrPixelsPerModule+qrPixelsPerModule/2
			r, _, _, _ := img.At(px, py).RGBA()
			if dark := r < 0x8000; dark != want {
				t.Fatalf("module (%d,%d) dark=%v, want %v", x, y, dark, want)
			}
		}
	}
	t.Logf("QR: %d modules (version %d), PNG %d bytes, data URL %d characters", len(bm), (len(bm)-17)/4, len(raw), len(url))

	for _, bad := range []string{"", strings.Repeat("A", tickets.MaxCodeLen+1)} {
		if _, err := DataURL(bad); err == nil {
			t.Fatalf("DataURL(%d bytes) succeeded", len(bad))
		}
	}
}
