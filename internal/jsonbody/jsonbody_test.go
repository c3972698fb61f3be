package jsonbody

import (
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/apperr"
)

type sample struct {
	Name  string `json:"name"`
	Count int    `json:"count"`
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
		{"NotObject", `[1,2]`, apperr.InvalidJSON},
		{"Truncated", `{"name":"a"`, apperr.InvalidJSON},
		{"Garbage", `{name:a}`, apperr.InvalidJSON},
		{"Trailing", `{"name":"a"}{"name":"b"}`, apperr.InvalidJSON},
		{"UnknownField", `{"name":"a","extra":1}`, apperr.UnknownField},
		{"WrongType", `{"count":"two"}`, apperr.Invalid},
		{"TooLarge", `{"name":"` + strings.Repeat("x", 200) + `"}`, apperr.TooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s sample
			err := Decode([]byte(tc.body), 100, &s)
			if got := apperr.CodeOf(err); got != tc.want {
				t.Fatalf("code = %q, want %q (err %v)", got, tc.want, err)
			}
		})
	}
}
