package devstack

import (
	"io"
	"net/http"

	"github.com/stararena/stararena/internal/apperr"
)

func readLimited(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		return nil, apperr.New(apperr.TooLarge, "request body over %d bytes", limit)
	}
	return body, nil
}
