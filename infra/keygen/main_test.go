package main

import (
	"bytes"
	"testing"

	"github.com/stararena/stararena/internal/keyring"
)

func TestGeneratedKeyringsParseAndRotate(t *testing.T) {
	// GIVEN a fresh keyring
	first, err := generate("k1", nil)
	if err != nil {
		t.Fatal(err)
	}
	// THEN the functions' parser accepts it
	r, err := keyring.Parse(first, "test")
	if err != nil || r.Current != "k1" || len(r.Keys) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
	// AND adding a key makes it current and keeps the old one for verifying
	second, err := generate("k2", bytes.NewReader(first))
	if err != nil {
		t.Fatal(err)
	}
	r, err = keyring.Parse(second, "test")
	if err != nil || r.Current != "k2" || len(r.Keys) != 2 || r.Keys[1].ID != "k1" {
		t.Fatalf("%+v %v", r, err)
	}
	// AND a duplicate or malformed key id is refused
	if _, err := generate("k1", bytes.NewReader(first)); err == nil {
		t.Error("duplicate kid accepted")
	}
	if _, err := generate("k 1", nil); err == nil {
		t.Error("bad kid accepted")
	}
}
