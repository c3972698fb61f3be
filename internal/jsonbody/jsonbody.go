// Package jsonbody decodes request bodies strictly: one JSON object, field
// names matched exactly (case included), no unknown fields, no repeated
// keys, no trailing data, a size limit. Every failure is an
// *apperr.Error a client can act on.
package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/stararena/stararena/internal/apperr"
)

// Decode parses body into dst (a pointer to a struct).
//
// It returns INVALID_JSON for syntax errors, empty bodies, trailing data or
// a key repeated in one object, UNKNOWN_FIELD for a key that is not exactly
// (case included) the JSON name of a field of the struct it lands in, at
// any depth, INVALID_REQUEST for type mismatches and PAYLOAD_TOO_LARGE when
// body exceeds limit bytes (limit <= 0 means no limit). Repeated and unknown
// keys are reported before type mismatches.
func Decode(body []byte, limit int64, dst any) error {
	if limit > 0 && int64(len(body)) > limit {
		return apperr.New(apperr.TooLarge, "request body is %d bytes; the limit is %d", len(body), limit)
	}
	trimmed := bytes.Trim(body, " \t\r\n") // JSON's whitespace
	if len(trimmed) == 0 {
		return apperr.New(apperr.InvalidJSON, "request body is empty; send a JSON object")
	}
	if trimmed[0] != '{' {
		return apperr.New(apperr.InvalidJSON, "request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return classify(err)
		}
		// The decoder read the whole object before it failed, so it is
		// well-formed: a repeated or unknown key in it goes first.
		if err := checkKeys(trimmed, dst); err != nil {
			return err
		}
		return classify(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.New(apperr.InvalidJSON, "request body has data after the JSON object")
	}
	return checkKeys(trimmed, dst)
}

func classify(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return apperr.Wrap(err, apperr.InvalidJSON, "request body is not valid JSON")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "body"
		}
		return apperr.Wrap(err, apperr.Invalid, "field %q must be %s", field, kindName(typ.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return apperr.Wrap(err, apperr.UnknownField, "unknown field %s", name)
	default:
		return apperr.Wrap(err, apperr.InvalidJSON, "request body is not valid JSON: %s", safeMsg(err))
	}
}

func kindName(k string) string {
	switch k {
	case "int", "int64", "int32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "true or false"
	}
	return "of another type"
}

func safeMsg(err error) string {
	s := strings.TrimPrefix(err.Error(), "json: ")
	if len(s) > 120 {
		s = s[:120]
	}
	return fmt.Sprint(s)
}
