// Package ticketqr draws a ticket code as the QR image fans show at the
// door. It is its own package so that only what renders images (the fan's
// tickets route, the mailer, the local stack) links the QR encoder; the
// tickets service takes it as a tickets.QRRenderer.
package ticketqr

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"

	qrcode "github.com/yeqown/go-qrcode/v2"

	"github.com/stararena/stararena/internal/tickets"
)

// Render is DataURL as the tickets service and the mailer take it.
var Render tickets.QRRenderer = DataURL

// The QR image: whole pixels per module, so modules stay crisp (no
// resampling) whatever the code's length, and the 4-module light border
// (quiet zone) that ISO/IEC 18004 asks scanners to be given.
const (
	qrPixelsPerModule = 6
	qrQuietModules    = 4
)

// DataURL renders code as a PNG QR code (byte mode, medium error
// correction, 15% recoverable) in a data: URL.
func DataURL(code string) (string, error) {
	if code == "" || len(code) > tickets.MaxCodeLen {
		return "", fmt.Errorf("qr: code must be 1-%d bytes", tickets.MaxCodeLen)
	}
	modules, err := qrModules(code)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, qrImage(modules)); err != nil {
		return "", fmt.Errorf("qr png: %w", err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// qrModules is the QR symbol of code, dark modules true, without the quiet
// zone.
func qrModules(code string) ([][]bool, error) {
	q, err := qrcode.NewWith(code,
		qrcode.WithEncodingMode(qrcode.EncModeByte),
		qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	var m moduleWriter
	if err := q.Save(&m); err != nil {
		return nil, fmt.Errorf("qr: %w", err)
	}
	return m.modules, nil
}

// moduleWriter keeps the symbol go-qrcode hands its writers; the PNG is
// drawn here rather than with go-qrcode's image writer module, which brings
// a font and 2D graphics library for shapes and logos tickets do not use.
type moduleWriter struct{ modules [][]bool }

func (w *moduleWriter) Write(m qrcode.Matrix) error {
	w.modules = m.Bitmap()
	return nil
}

func (w *moduleWriter) Close() error { return nil }

// qrImage draws the modules black on white with the quiet zone, as a
// two-colour paletted image (the PNG stays about 1 KB).
func qrImage(modules [][]bool) *image.Paletted {
	side := (len(modules) + 2*qrQuietModules) * qrPixelsPerModule
	img := image.NewPaletted(image.Rect(0, 0, side, side), color.Palette{color.White, color.Black})
	for y, row := range modules {
		for x, dark := range row {
			if !dark {
				continue
			}
			x0, y0 := (x+qrQuietModules)*qrPixelsPerModule, (y+qrQuietModules)*qrPixelsPerModule
			for py := y0; py < y0+qrPixelsPerModule; py++ {
				for px := x0; px < x0+qrPixelsPerModule; px++ {
					img.SetColorIndex(px, py, 1)
				}
			}
		}
	}
	return img
}
