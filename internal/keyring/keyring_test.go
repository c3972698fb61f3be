package keyring

import (
	"crypto/ed25519"
	"encoding/base64"
	"strings"
	"testing"
)

func seed(b byte) string {
	return base64.StdEncoding.EncodeToString([]byte(strings.Repeat(string(rune(b)), ed25519.SeedSize)))
}

func TestParse(t *testing.T) {
	good := `{"current":"k2","keys":[{"kid":"k2","seed":"` + seed('b') + `"},{"kid":"k1","seed":"` + seed('a') + `"}]}`
	r, err := Parse([]byte(good), "test")
	if err != nil || r.Current != "k2" || len(r.Keys) != 2 {
		t.Fatalf("%+v %v", r, err)
	}
	bad := map[string]string{
		"CurrentNotListed": `{"current":"k3","keys":[{"kid":"k2","seed":"` + seed('b') + `"}]}`,
		"DuplicateKID":     `{"current":"k2","keys":[{"kid":"k2","seed":"` + seed('b') + `"},{"kid":"k2","seed":"` + seed('a') + `"}]}`,
		"ShortSeed":        `{"current":"k2","keys":[{"kid":"k2","seed":"YWJj"}]}`,
		"BadKID":           `{"current":"k 2","keys":[{"kid":"k 2","seed":"` + seed('b') + `"}]}`,
		"LongKID":          `{"current":"` + strings.Repeat("k", 17) + `","keys":[{"kid":"` + strings.Repeat("k", 17) + `","seed":"` + seed('b') + `"}]}`,
		"UnknownField":     `{"current":"k2","keys":[],"extra":1}`,
		"NotJSON":          `current=k2`,
	}
	for name, doc := range bad {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(doc), "test"); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}

func TestGenerateIsValid(t *testing.T) {
	for _, prefix := range []string{"t", "adm-"} {
		r, err := Generate(prefix)
		if err != nil || r.Validate("test") != nil || !strings.HasPrefix(r.Current, prefix) || len(r.Current) != MaxKID {
			t.Fatalf("%q: %+v %v", prefix, r, err)
		}
	}
}
