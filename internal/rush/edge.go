package rush

import (
	"compress/gzip"
	"io"
	"sync"
)

// CloudFront compresses responses of 1,000 to 10,000,000 bytes for viewers
// that accept it (every browser) when the behaviour has Compress on, as all
// of the site's do (infra/stack/edge.go).
const minCompressed, maxCompressed = 1_000, 10_000_000

// compressor measures compressed sizes, reusing its gzip writers.
type compressor struct{ pool sync.Pool }

// edgeSize is the bytes CloudFront sends a fan for a response body: gzip
// (brotli, which browsers also accept, is smaller still, so this errs
// high) within the compressible sizes, the body as is otherwise.
func (z *compressor) edgeSize(body []byte) int {
	if len(body) < minCompressed || len(body) > maxCompressed {
		return len(body)
	}
	var n counter
	w, ok := z.pool.Get().(*gzip.Writer)
	if !ok {
		w = gzip.NewWriter(io.Discard)
	}
	defer z.pool.Put(w)
	w.Reset(&n)
	_, _ = w.Write(body)
	_ = w.Close()
	return int(n)
}

type counter int64

func (c *counter) Write(p []byte) (int, error) {
	*c += counter(len(p))
	return len(p), nil
}
