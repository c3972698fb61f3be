package localstack

import (
	"io"
	"net/http"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/jsonbody"
)

func readLimited(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, apperr.New(apperr.TooLarge, "request body over %d bytes", limit)
	}
	return body, nil
}

func decodeStrict(body []byte, limit int64, dst any) error { return jsonbody.Decode(body, limit, dst) }
