// Package jsonbody decodes request bodies strictly: one JSON object, field
// names matched exactly (case included), no unknown fields, no repeated
// keys, no trailing data, a size limit. Every failure is an
// *apperr.Error a client can act on.
//
// The decoding is github.com/go-json-experiment/json (the proposed
// encoding/json/v2), which refuses unknown and repeated names and matches
// names exactly; this package orders its refusals and words them for the
// API's error body.
package jsonbody

import (
	"bytes"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/stararena/stararena/internal/apperr"
)

// options are the decoder's settings. Invalid UTF-8 in strings is replaced
// by U+FFFD rather than refused, as encoding/json has always read request
// bodies here; everything else is json's default strictness (exact names,
// no repeated names) plus the refusal of unknown names.
var options = json.JoinOptions(
	json.RejectUnknownMembers(true),
	jsontext.AllowInvalidUTF8(true),
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
	if err := checkGrammar(trimmed); err != nil {
		return err
	}
	err := json.Unmarshal(trimmed, dst, options)
	if err == nil {
		return nil
	}
	if isTypeError(err) {
		// json stops at the first error in the body; a repeated or unknown
		// key further on is the more useful answer (the client sent
		// something no field reads), so look for one.
		if keyErr := json.Unmarshal(trimmed, reflect.New(reflect.TypeOf(dst).Elem()).Interface(), options, keysOnly); keyErr != nil && !isTypeError(keyErr) {
			err = keyErr
		}
	}
	return mapError(trimmed, err)
}

// checkGrammar refuses a body that is not exactly one well-formed JSON
// value. json.Unmarshal refuses such bodies too, but only once it reaches
// the fault: a body with an unknown key and a syntax error or data after
// the object must be answered "not valid JSON", as it always was, because
// a client's JSON library gets that one wrong before its field names.
func checkGrammar(body []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	if err := dec.SkipValue(); err != nil {
		return apperr.Wrap(err, apperr.InvalidJSON, "request body is not valid JSON")
	}
	if dec.PeekKind() != 0 {
		return apperr.New(apperr.InvalidJSON, "request body has data after the JSON object")
	}
	return nil
}

// keysOnly makes json read only the keys: a value whose JSON kind cannot
// fill its Go type is skipped instead of refused, so the first refusal is
// the first repeated or unknown key. Skipping still checks the skipped
// value's own keys for repeats.
var keysOnly = json.WithUnmarshalers(json.UnmarshalFromFunc(func(dec *jsontext.Decoder, v any) error {
	t := reflect.TypeOf(v).Elem()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch k := dec.PeekKind(); {
	case k == 'n',
		k == '{' && (t.Kind() == reflect.Struct || t.Kind() == reflect.Map || t.Kind() == reflect.Interface),
		k == '[' && (t.Kind() == reflect.Slice || t.Kind() == reflect.Array || t.Kind() == reflect.Interface):
		return json.SkipFunc // json's own decoding, which walks into the value
	}
	return dec.SkipValue()
}))

// isTypeError reports a value of the wrong type (not a refused key, not a
// syntax error).
func isTypeError(err error) bool {
	var sem *json.SemanticError
	return errors.As(err, &sem) && !errors.Is(err, json.ErrUnknownName)
}

// mapError words a json error for the API.
func mapError(body []byte, err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn) && errors.Is(err, jsontext.ErrDuplicateName):
		return apperr.Wrap(err, apperr.InvalidJSON, "field %q appears twice%s",
			syn.JSONPointer.LastToken(), where(body, syn.JSONPointer.Parent()))
	case errors.As(err, &sem) && errors.Is(err, json.ErrUnknownName):
		name := sem.JSONPointer.LastToken()
		if hint := caseMatch(sem.GoType, name); hint != "" {
			return apperr.Wrap(err, apperr.UnknownField, "unknown field %q%s; field names are case-sensitive: did you mean %q?",
				name, where(body, sem.JSONPointer.Parent()), hint)
		}
		return apperr.Wrap(err, apperr.UnknownField, "unknown field %q%s", name, where(body, sem.JSONPointer.Parent()))
	case errors.As(err, &sem):
		field := path(body, sem.JSONPointer)
		if field == "" {
			field = "body"
		}
		return apperr.Wrap(err, apperr.Invalid, "field %q must be %s", field, kindName(sem.GoType))
	default: // checkGrammar has refused syntax errors; this is a safety net
		return apperr.Wrap(err, apperr.InvalidJSON, "request body is not valid JSON")
	}
}

// where is " in <path>" for a value below the top level.
func where(body []byte, p jsontext.Pointer) string {
	if s := path(body, p); s != "" {
		return " in " + s
	}
	return ""
}

// path spells a JSON pointer as a client writes it: items[1].name. Array
// indices and numeric object keys look alike in a pointer, so the body
// tells which is which (this runs only on a refusal).
func path(body []byte, p jsontext.Pointer) string {
	var cur any
	_ = json.Unmarshal(body, &cur, jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	var b strings.Builder
	for tok := range p.Tokens() {
		switch v := cur.(type) {
		case []any:
			b.WriteString("[" + tok + "]")
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(v) {
				cur = v[i]
			} else {
				cur = nil
			}
			continue
		case map[string]any:
			cur = v[tok]
		default:
			cur = nil
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(tok)
	}
	return b.String()
}

// caseMatch is the JSON name of a field of struct type t that name matches
// case-insensitively, if any.
func caseMatch(t reflect.Type, name string) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return ""
	}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		fname, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && fname == "" {
			if hint := caseMatch(f.Type, name); hint != "" {
				return hint
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if fname == "" {
			fname = f.Name
		}
		if strings.EqualFold(fname, name) {
			return fname
		}
	}
	return ""
}

func kindName(t reflect.Type) string {
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil {
		return "of another type"
	}
	if t == reflect.TypeFor[time.Time]() {
		return "an RFC 3339 time"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Bool:
		return "true or false"
	}
	return "of another type"
}
