package jsonbody

import (
	"encoding"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/stararena/stararena/internal/apperr"
)

// encoding/json matches object keys to struct fields case-insensitively
// and lets a repeated key overwrite the earlier one, so {"Seats":[...]} or
// {"quantity":1,"quantity":9} would be read as something other than what a
// strict reader (a proxy, an auditor, the contract) sees. checkKeys closes
// both gaps: it walks the body once more, following the destination type,
// and refuses
//
//   - a key that is not exactly the JSON name of a field of the struct it
//     lands in (UNKNOWN_FIELD), at any depth: through pointers, slices,
//     arrays and map values; map keys and the contents of interface or
//     json.Unmarshaler values are free;
//   - a key repeated in one object (INVALID_JSON), in every object.
//
// The walk does not check the grammar: it must only be given a body whose
// first value encoding/json has read without a syntax error (it stops at
// the end of that value). It does not allocate unless a key has escapes or
// non-ASCII bytes, an object has free keys, or it refuses a key.

// kind is how the walk treats the value found at one place of the type.
type kind uint8

const (
	kindFree   kind = iota // keys not checked (interface, Unmarshaler, scalars): duplicates only
	kindStruct             // keys must be field names
	kindMap                // keys free, values of elem's shape
	kindList               // slice or array of elem's shape
)

// shape is the walk's view of a Go type.
type shape struct {
	kind   kind
	elem   *shape            // kindMap, kindList
	fields map[string]*field // kindStruct, by exact JSON name
}

type field struct {
	index int // order of the name in the struct, for duplicate detection
	shape *shape
}

var free = &shape{kind: kindFree}

func init() { free.elem = free }

var (
	shapes   sync.Map // reflect.Type -> *shape, complete shapes only
	shapesMu sync.Mutex

	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// shapeOf returns the cached shape of t (nil: free).
func shapeOf(t reflect.Type) *shape {
	if t == nil {
		return free
	}
	t = deref(t)
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	shapesMu.Lock()
	defer shapesMu.Unlock()
	building := map[reflect.Type]*shape{}
	s := buildShape(t, building)
	// Publish only complete shapes (recursive types refer to themselves).
	for t, s := range building {
		shapes.Store(t, s)
	}
	return s
}

// deref is the type pointers to t point to in the end.
func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer && t.Elem() != t {
		t = t.Elem()
	}
	return t
}

func buildShape(t reflect.Type, building map[reflect.Type]*shape) *shape {
	t = deref(t)
	if s, ok := shapes.Load(t); ok {
		return s.(*shape)
	}
	if s, ok := building[t]; ok {
		return s
	}
	if t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) ||
		t.Implements(textUnmarshaler) || reflect.PointerTo(t).Implements(textUnmarshaler) {
		building[t] = free
		return free
	}
	s := &shape{}
	building[t] = s
	switch t.Kind() {
	case reflect.Struct:
		s.kind, s.fields = kindStruct, map[string]*field{}
		addFields(s.fields, t, building, map[reflect.Type]bool{})
	case reflect.Map:
		s.kind, s.elem = kindMap, buildShape(t.Elem(), building)
	case reflect.Slice, reflect.Array:
		s.kind, s.elem = kindList, buildShape(t.Elem(), building)
	default:
		s.kind, s.elem = kindFree, free
	}
	return s
}

// addFields adds the JSON names of t's fields to fields, then those its
// embedded structs promote (an outer name shadows an inner one). Names
// encoding/json would drop as ambiguous are kept here; its own
// DisallowUnknownFields still refuses them afterwards.
func addFields(fields map[string]*field, t reflect.Type, building map[reflect.Type]*shape, visited map[reflect.Type]bool) {
	visited[t] = true
	var embedded []reflect.Type
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				embedded = append(embedded, ft)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := fields[name]; !ok {
			fields[name] = &field{index: len(fields), shape: buildShape(f.Type, building)}
		}
	}
	for _, et := range embedded {
		if !visited[et] {
			addFields(fields, et, building, visited)
		}
	}
}

// keyError is a refused key; path is filled in innermost first while the
// walk unwinds, so the happy path pays nothing for it.
type keyError struct {
	code apperr.Code
	key  string
	hint string // the field name a case-mismatched key meant
	path []string
}

func (e *keyError) err() *apperr.Error {
	var where string
	if len(e.path) > 0 {
		var b strings.Builder
		for i := len(e.path) - 1; i >= 0; i-- {
			if p := e.path[i]; p[0] != '[' && b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(e.path[i])
		}
		where = " in " + b.String()
	}
	if e.code == apperr.InvalidJSON {
		return apperr.New(e.code, "field %q appears twice%s", e.key, where)
	}
	if e.hint != "" {
		return apperr.New(e.code, "unknown field %q%s; field names are case-sensitive: did you mean %q?", e.key, where, e.hint)
	}
	return apperr.New(e.code, "unknown field %q%s", e.key, where)
}

// checkKeys walks the first value of data, which must be well-formed, as a
// value of dst's type.
func checkKeys(data []byte, dst any) error {
	w := walker{data: data}
	if e := w.value(shapeOf(reflect.TypeOf(dst))); e != nil {
		return e.err()
	}
	return nil
}

type walker struct {
	data []byte
	pos  int
}

func (w *walker) space() {
	for w.pos < len(w.data) {
		switch w.data[w.pos] {
		case ' ', '\t', '\n', '\r':
			w.pos++
		default:
			return
		}
	}
}

func (w *walker) value(s *shape) *keyError {
	w.space()
	switch w.data[w.pos] {
	case '{':
		return w.object(s)
	case '[':
		return w.array(s)
	case '"':
		w.str()
	default: // number, true, false, null
		for w.pos < len(w.data) {
			switch w.data[w.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil
			}
			w.pos++
		}
	}
	return nil
}

// str skips a string and reports whether it has escapes or non-ASCII bytes.
func (w *walker) str() (plain bool) {
	plain = true
	w.pos++ // opening quote
	for {
		c := w.data[w.pos]
		switch {
		case c == '"':
			w.pos++
			return plain
		case c == '\\':
			plain = false
			w.pos += 2
		case c >= utf8.RuneSelf:
			plain = false
			w.pos++
		default:
			w.pos++
		}
	}
}

// key reads an object key and its colon. The key is as encoding/json
// decodes it (escapes resolved, invalid UTF-8 replaced); plain keys alias
// the body.
func (w *walker) key() []byte {
	start := w.pos
	plain := w.str()
	raw := w.data[start:w.pos]
	w.space()
	w.pos++ // ':'
	if plain {
		return raw[1 : len(raw)-1]
	}
	var k string
	_ = json.Unmarshal(raw, &k) // valid by the grammar
	return []byte(k)
}

func (w *walker) object(s *shape) *keyError {
	w.pos++                     // '{'
	var seenFields uint64       // struct fields 0..63
	var seenKeys [][]byte       // free keys, and struct fields past 63
	var seenSet map[string]bool // once seenKeys grows large
	for {
		w.space()
		switch w.data[w.pos] {
		case '}':
			w.pos++
			return nil
		case ',':
			w.pos++
			w.space()
		}
		k := w.key()
		child, dup := free, false
		if s.kind == kindStruct {
			f, ok := s.fields[string(k)]
			if !ok {
				return &keyError{code: apperr.UnknownField, key: string(k), hint: s.caseMatch(k)}
			}
			child = f.shape
			if f.index < 64 {
				bit := uint64(1) << f.index
				dup, seenFields = seenFields&bit != 0, seenFields|bit
			} else {
				dup, seenKeys, seenSet = seen(k, seenKeys, seenSet)
			}
		} else {
			if s.kind == kindMap {
				child = s.elem
			}
			dup, seenKeys, seenSet = seen(k, seenKeys, seenSet)
		}
		if dup {
			return &keyError{code: apperr.InvalidJSON, key: string(k)}
		}
		if e := w.value(child); e != nil {
			e.path = append(e.path, string(k))
			return e
		}
	}
}

// seen records k and reports whether it was recorded before: a short list
// for the usual small object, a set past 16 keys.
func seen(k []byte, list [][]byte, set map[string]bool) (bool, [][]byte, map[string]bool) {
	if set != nil {
		if set[string(k)] {
			return true, list, set
		}
		set[string(k)] = true
		return false, list, set
	}
	for _, o := range list {
		if string(o) == string(k) {
			return true, list, set
		}
	}
	list = append(list, k)
	if len(list) > 16 {
		set = make(map[string]bool, 2*len(list))
		for _, o := range list {
			set[string(o)] = true
		}
	}
	return false, list, set
}

func (w *walker) array(s *shape) *keyError {
	w.pos++ // '['
	elem := free
	if s.kind == kindList {
		elem = s.elem
	}
	for i := 0; ; i++ {
		w.space()
		switch w.data[w.pos] {
		case ']':
			w.pos++
			return nil
		case ',':
			w.pos++
		}
		if e := w.value(elem); e != nil {
			e.path = append(e.path, "["+strconv.Itoa(i)+"]")
			return e
		}
	}
}

// caseMatch is the field name k matches case-insensitively, if any (error
// path only).
func (s *shape) caseMatch(k []byte) string {
	for name := range s.fields {
		if strings.EqualFold(name, string(k)) {
			return name
		}
	}
	return ""
}
