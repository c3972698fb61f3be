// Command keygen prints a fresh Ed25519 signing keyring in the JSON shape
// the admission and ticket keyring secrets hold (internal/keyring):
//
//	go run ./infra/keygen -kid k1 | aws secretsmanager put-secret-value \
//	    --secret-id "$ADMISSION_KEYS_SECRET_ARN" --secret-string file:///dev/stdin
//
// With -add it reads an existing keyring on stdin and prints it with a new
// current key in front (rotation: the old keys keep verifying what they
// signed until you drop them).
package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"time"
)

type key struct {
	KID  string `json:"kid"`
	Seed string `json:"seed"`
}

type ring struct {
	Current string `json:"current"`
	Keys    []key  `json:"keys"`
}

var kidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,16}$`)

func main() {
	kid := flag.String("kid", "k"+time.Now().UTC().Format("20060102"), "id of the new key (1-16 of A-Z a-z 0-9 _ -)")
	add := flag.Bool("add", false, "read a keyring on stdin and add the new key as current")
	flag.Parse()
	var existing io.Reader
	if *add {
		existing = os.Stdin
	}
	out, err := generate(*kid, existing)
	if err != nil {
		fmt.Fprintln(os.Stderr, "keygen:", err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

// generate returns a keyring whose current key is a new one named kid,
// followed by the keys of existing (nil: none).
func generate(kid string, existing io.Reader) ([]byte, error) {
	if !kidPattern.MatchString(kid) {
		return nil, fmt.Errorf("kid %q: 1-16 of A-Z a-z 0-9 _ -", kid)
	}
	var r ring
	if existing != nil {
		b, err := io.ReadAll(existing)
		if err != nil {
			return nil, err
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&r); err != nil {
			return nil, fmt.Errorf("reading the keyring: %w", err)
		}
		for _, k := range r.Keys {
			if k.KID == kid {
				return nil, fmt.Errorf("kid %q is already in the keyring", kid)
			}
		}
	}
	seed := make([]byte, ed25519.SeedSize)
	if _, err := rand.Read(seed); err != nil {
		return nil, err
	}
	r.Current = kid
	r.Keys = append([]key{{KID: kid, Seed: base64.StdEncoding.EncodeToString(seed)}}, r.Keys...)
	return json.Marshal(r)
}
