package rush

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"testing"
)

func TestEdgeSizeIsWhatCloudFrontSends(t *testing.T) {
	var z compressor
	small := []byte(`{"servingPosition":120,"admitPerMinute":18000,"soldOut":false}`)
	if got := z.edgeSize(small); got != len(small) {
		t.Errorf("a %d-byte body: %d bytes at the edge, want it as is (under 1,000 bytes)", len(small), got)
	}
	var seats bytes.Buffer
	seats.WriteString(`{"seats":{`)
	for i := range 20_000 {
		fmt.Fprintf(&seats, `"A-%d-%d":"AVAILABLE",`, i/100+1, i%100+1)
	}
	seats.WriteString(`"end":"SOLD"}}`)
	var want bytes.Buffer
	w := gzip.NewWriter(&want)
	_, _ = w.Write(seats.Bytes())
	_ = w.Close()
	for range 2 { // the second call reuses the writer
		if got := z.edgeSize(seats.Bytes()); got != want.Len() || got >= seats.Len()/4 {
			t.Errorf("a %d-byte seat map: %d bytes at the edge, want its gzip size %d", seats.Len(), got, want.Len())
		}
	}
}
