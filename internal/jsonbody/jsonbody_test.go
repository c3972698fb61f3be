package jsonbody

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/apperr"
)

type sample struct {
	Name  string         `json:"name"`
	Count int            `json:"count"`
	Inner *inner         `json:"inner,omitempty"`
	Items []inner        `json:"items,omitempty"`
	Tags  map[string]int `json:"tags,omitempty"`
	Extra any            `json:"extra,omitempty"`
	At    *time.Time     `json:"at,omitempty"`
	Embedded
	Untagged string
	Ignored  string `json:"-"`
	//lint:ignore U1000 unexported fields are never decoded; TestDecode checks the key is refused
	hidden string
}

type inner struct {
	Count int      `json:"count"`
	Deep  []*inner `json:"deep,omitempty"`
}

// Embedded promotes its fields into sample, as encoding/json does.
type Embedded struct {
	Promoted string `json:"promoted,omitempty"`
}

func TestDecode(t *testing.T) {
	cases := []struct {
		name string
		body string
		want apperr.Code
	}{
		{"Valid", `{"name":"a","count":2}`, ""},
		{"Empty", ``, apperr.InvalidJSON},
		{"Whitespace", "  \n", apperr.InvalidJSON},
		{"NonJSONSpace", "\u00a0{}", apperr.InvalidJSON}, // JSON whitespace is space, tab, CR and LF only
		{"NotObject", `[1,2]`, apperr.InvalidJSON},
		{"Truncated", `{"name":"a"`, apperr.InvalidJSON},
		{"Garbage", `{name:a}`, apperr.InvalidJSON},
		{"Trailing", `{"name":"a"}{"name":"b"}`, apperr.InvalidJSON},
		{"UnknownField", `{"name":"a","extra2":1}`, apperr.UnknownField},
		{"WrongType", `{"count":"two"}`, apperr.Invalid},
		{"TooLarge", `{"name":"` + strings.Repeat("x", 200) + `"}`, apperr.TooLarge},

		// Exact names.
		{"CaseMismatch", `{"Name":"a"}`, apperr.UnknownField},
		{"CaseMismatchUpper", `{"COUNT":1}`, apperr.UnknownField},
		{"NestedCaseMismatch", `{"inner":{"Count":1}}`, apperr.UnknownField},
		{"CaseMismatchInSlice", `{"items":[{"count":1},{"cOunt":2}]}`, apperr.UnknownField},
		{"CaseMismatchDeep", `{"items":[{"deep":[{"deep":[{"Deep":null}]}]}]}`, apperr.UnknownField},
		{"UnknownNested", `{"inner":{"count":1,"vip":true}}`, apperr.UnknownField},
		{"EscapedName", `{"na\u006de":"a"}`, ""},
		{"EscapedCaseMismatch", `{"\u004eame":"a"}`, apperr.UnknownField},
		{"KelvinSign", `{"tags":{},"name":"a","coun\u212a":1}`, apperr.UnknownField}, // K folds to k in encoding/json
		{"UntaggedFieldName", `{"Untagged":"a"}`, ""},
		{"UntaggedFieldLowercase", `{"untagged":"a"}`, apperr.UnknownField},
		{"IgnoredField", `{"Ignored":"a"}`, apperr.UnknownField},
		{"UnexportedField", `{"hidden":"a"}`, apperr.UnknownField},
		{"PromotedField", `{"promoted":"a"}`, ""},
		{"EmbeddedStructName", `{"Embedded":{"promoted":"a"}}`, apperr.UnknownField},
		{"UnknownBeforeTypeError", `{"count":"two","Name":"a"}`, apperr.UnknownField},

		// Repeated keys.
		{"DuplicateKey", `{"name":"a","name":"b"}`, apperr.InvalidJSON},
		{"DuplicateSameValue", `{"count":1,"count":1}`, apperr.InvalidJSON},
		{"DuplicateEscaped", `{"name":"a","na\u006de":"b"}`, apperr.InvalidJSON},
		{"DuplicateInNested", `{"inner":{"count":1,"count":2}}`, apperr.InvalidJSON},
		{"DuplicateInSlice", `{"items":[{"count":1},{"count":1,"count":2}]}`, apperr.InvalidJSON},
		{"DuplicateInMap", `{"tags":{"a":1,"a":2}}`, apperr.InvalidJSON},
		{"DuplicateInAny", `{"extra":[{"x":1,"x":2}]}`, apperr.InvalidJSON},
		{"DuplicateUnderScalar", `{"count":{"a":1,"a":2}}`, apperr.InvalidJSON},
		{"DuplicateBeforeTypeError", `{"count":1,"count":"two"}`, apperr.InvalidJSON},
		{"CaseVariantIsUnknownNotDuplicate", `{"name":"a","Name":"b"}`, apperr.UnknownField},

		// Free keys: maps and interface values keep theirs.
		{"MapKeysFree", `{"tags":{"A":1,"a":2,"Name":3}}`, ""},
		{"AnyKeysFree", `{"extra":{"X":1,"x":{"Y":[{"y":1}]}}}`, ""},
		{"UnmarshalerValue", `{"at":"2027-06-01T20:00:00Z"}`, ""},
		{"ManyMapKeys", `{"tags":{` + manyKeys(40, false) + `}}`, ""},
		{"ManyMapKeysDuplicate", `{"tags":{` + manyKeys(40, true) + `}}`, apperr.InvalidJSON},
		{"NullObject", `{"inner":null,"items":null,"tags":null,"extra":null}`, ""},
		{"WhitespaceEverywhere", " {\n\t\"name\" :\r \"a\" , \"items\" : [ { \"count\" : 1 } , { } ] } \n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s sample
			limit := int64(100)
			if strings.HasPrefix(tc.name, "ManyMapKeys") {
				limit = 0
			}
			err := Decode([]byte(tc.body), limit, &s)
			if got := apperr.CodeOf(err); got != tc.want {
				t.Fatalf("code = %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}
}

func manyKeys(n int, dup bool) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		k := i
		if dup && i == n-1 {
			k = n / 2
		}
		fmt.Fprintf(&b, `"k%d":%d`, k, i)
	}
	return b.String()
}

// TestDecodeMessages checks that refusals say where and what.
func TestDecodeMessages(t *testing.T) {
	cases := map[string]string{
		`{"Name":"a"}`:                        `unknown field "Name"; field names are case-sensitive: did you mean "name"?`,
		`{"items":[{"count":1},{"vip":1}]}`:   `unknown field "vip" in items[1]`,
		`{"inner":{"deep":[{"COUNT":1}]}}`:    `unknown field "COUNT" in inner.deep[0]; field names are case-sensitive: did you mean "count"?`,
		`{"name":"a","name":"b"}`:             `field "name" appears twice`,
		`{"tags":{"a":1,"b":2,"a":3}}`:        `field "a" appears twice in tags`,
		`{"extra":{"x":[{},{"y":1,"y":2}]}}`:  `field "y" appears twice in extra.x[1]`,
		`{"name":"a","extra2":1}`:             `unknown field "extra2"`,
		`{"count":"two"}`:                     `field "count" must be a number`,
		`{"name":"a"} {}`:                     `request body has data after the JSON object`,
		`{"name":"a",}`:                       `request body is not valid JSON`,
		`{"inner":{"count":1,"count":1}} x`:   `request body has data after the JSON object`,
		`{"inner":{"count":1,"Count":1}, "x"`: `request body is not valid JSON`,
	}
	for body, want := range cases {
		var s sample
		err := Decode([]byte(body), 0, &s)
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Message != want {
			t.Errorf("%s: message %q, want %q", body, message(err), want)
		}
	}
}

func message(err error) string {
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae.Message
	}
	return fmt.Sprint(err)
}

// TestDecodeMatchesEncodingJSON checks that what Decode accepts it decodes
// exactly as encoding/json does.
func TestDecodeMatchesEncodingJSON(t *testing.T) {
	body := []byte(`{"name":"a\u00e9\"","count":-2,"inner":{"count":3,"deep":[null,{"count":4}]},` +
		`"items":[{"count":5}],"tags":{"x":1,"X":2},"extra":{"k":[1,"s",true,null,{"Z":{}}]},` +
		`"at":"2027-06-01T20:00:00.5Z","promoted":"p","Untagged":"u"}`)
	var got, want sample
	if err := Decode(body, 0, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Decode = %+v\nencoding/json = %+v", got, want)
	}
}

// TestRecursiveAndConcurrentShapes decodes into a self-referencing type
// from many goroutines (shapes are built once and cached).
func TestRecursiveAndConcurrentShapes(t *testing.T) {
	type node struct {
		ID       string           `json:"id"`
		Children []node           `json:"children"`
		Next     *node            `json:"next"`
		ByName   map[string]*node `json:"byName"`
	}
	body := []byte(`{"id":"a","children":[{"id":"b","next":{"id":"c","byName":{"X":{"id":"d"}}}}]}`)
	bad := []byte(`{"id":"a","children":[{"id":"b","next":{"id":"c","byName":{"X":{"ID":"d"}}}}]}`)
	errs := make(chan error, 16)
	for range 8 {
		go func() {
			var n node
			errs <- Decode(body, 0, &n)
		}()
		go func() {
			var n node
			if err := Decode(bad, 0, &n); apperr.CodeOf(err) != apperr.UnknownField {
				errs <- fmt.Errorf("bad body: %v", err)
				return
			}
			errs <- nil
		}()
	}
	for range 16 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// FuzzDecode: Decode never panics, every refusal is a client error with a
// request code, and what it accepts encoding/json reads the same way and
// survives a re-encode/decode round trip unchanged.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"name":"a","count":2}`, `{"Name":"a"}`, `{"name":"a","name":"b"}`, `{"inner":{"Count":1}}`,
		`{"inner":{"count":1,"count":2}}`, `{"items":[{"count":1,"deep":[{"count":2}]}]}`,
		`{"tags":{"a":1,"A":2}}`, `{"extra":{"x":[1,{"y":null}]}}`, `{"at":"2027-06-01T20:00:00Z"}`,
		`{"na\u006de":"\ud83c\udfb5"}`, `{"promoted":"p","Untagged":"u"}`, `{"count":1e400}`, `{"name":"a"} {}`,
		"{\"name\":\"\xff\"}", `{"tags":{"\u00e9":1,"é":2}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var got sample
		err := Decode(body, 1<<16, &got)
		if err != nil {
			switch c := apperr.CodeOf(err); c {
			case apperr.InvalidJSON, apperr.UnknownField, apperr.Invalid, apperr.TooLarge:
			default:
				t.Fatalf("code %q for %q: %v", c, body, err)
			}
			return
		}
		var lenient sample
		if err := json.Unmarshal(body, &lenient); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		if !reflect.DeepEqual(got, lenient) {
			t.Fatalf("%q: Decode = %+v, encoding/json = %+v", body, got, lenient)
		}
		enc, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", got, err)
		}
		var again sample
		if err := Decode(enc, 0, &again); err != nil {
			t.Fatalf("re-encoded %q is refused: %v", enc, err)
		}
		enc2, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) {
			t.Fatalf("round trip changed the value:\n%s\n%s", enc, enc2)
		}
	})
}

// Benchmark bodies shaped like the real ones: a hold and a large venue map.
type benchHold struct {
	AdmissionToken string   `json:"admissionToken"`
	Seats          []string `json:"seats,omitempty"`
	Section        string   `json:"section,omitempty"`
	Quantity       int      `json:"quantity,omitempty"`
}

type benchEvent struct {
	Name     string `json:"name"`
	Venue    string `json:"venue"`
	StartsAt string `json:"startsAt"`
	Queue    *struct {
		Mode           string `json:"mode"`
		AdmitPerMinute *int   `json:"admitPerMinute"`
	} `json:"queue"`
	Sections []struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		PriceCents *int64 `json:"priceCents"`
		Currency   string `json:"currency"`
		Rows       []struct {
			ID    string `json:"id"`
			Seats int    `json:"seats"`
		} `json:"rows"`
		Capacity *int `json:"capacity"`
	} `json:"sections"`
}

func benchBodies() map[string]struct {
	body []byte
	dst  func() any
} {
	hold := []byte(`{"admissionToken":"` + strings.Repeat("e", 300) + `","seats":["A-1-1","A-1-2","A-1-3","A-1-4"]}`)
	var v strings.Builder
	v.WriteString(`{"name":"Arena","venue":"Harbour","startsAt":"2027-06-01T20:00:00Z","queue":{"mode":"on","admitPerMinute":600},"sections":[`)
	for s := range 20 {
		if s > 0 {
			v.WriteByte(',')
		}
		fmt.Fprintf(&v, `{"id":"S%d","name":"Section %d","priceCents":4500,"currency":"EUR","rows":[`, s, s)
		for r := range 200 {
			if r > 0 {
				v.WriteByte(',')
			}
			fmt.Fprintf(&v, `{"id":"%d","seats":50}`, r+1)
		}
		v.WriteString(`]}`)
	}
	v.WriteString(`]}`)
	return map[string]struct {
		body []byte
		dst  func() any
	}{
		"hold":  {hold, func() any { return new(benchHold) }},
		"venue": {[]byte(v.String()), func() any { return new(benchEvent) }},
	}
}

// BenchmarkDecode compares Decode with encoding/json's own strict mode
// (DisallowUnknownFields), which has neither exact names nor a refusal of
// repeated keys.
func BenchmarkDecode(b *testing.B) {
	for name, c := range benchBodies() {
		b.Run(name+"/jsonbody", func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Decode(c.body, 0, c.dst()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/encoding-json", func(b *testing.B) {
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				dec := json.NewDecoder(bytes.NewReader(c.body))
				dec.DisallowUnknownFields()
				if err := dec.Decode(c.dst()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
