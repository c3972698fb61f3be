package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/draw"
)

func publish(t *testing.T, n int) draw.Published {
	t.Helper()
	seed, err := draw.NewSeed()
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = draw.EntrantID("e1", fmt.Sprintf("fan-%d", i))
	}
	return draw.Publish("e1", seed, ids)
}

func writeDoc(t *testing.T, doc any) string {
	t.Helper()
	var b []byte
	switch d := doc.(type) {
	case string:
		b = []byte(d)
	default:
		var err error
		if b, err = json.Marshal(d); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "draw.json")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVerifiesFile(t *testing.T) {
	doc := publish(t, 20)
	path := writeDoc(t, doc)

	code, out, errOut := runCmd(t, "-file", path)
	want := fmt.Sprintf("draw verified: 20 entrants, seed hash %s\n", doc.SeedHash)
	if code != 0 || !strings.HasPrefix(out, want) {
		t.Fatalf("exit %d, stdout %q, stderr %q; want 0 and %q", code, out, errOut, want)
	}

	code, out, _ = runCmd(t, "-file", path, "-hash", strings.ToUpper(doc.SeedHash))
	if code != 0 || !strings.Contains(out, "matches the one published before the sale") {
		t.Errorf("with the committed hash: exit %d, stdout %q", code, out)
	}
	code, out, _ = runCmd(t, "-file", path, "-hash", draw.SeedHash([]byte("another seed")))
	if code != 1 || !strings.Contains(out, "draw not verified") {
		t.Errorf("with another committed hash: exit %d, stdout %q; want 1", code, out)
	}
}

func TestRejectsTamperedDocument(t *testing.T) {
	doc := publish(t, 20)
	doc.Entrants[0].Position, doc.Entrants[1].Position = 2, 1
	code, out, _ := runCmd(t, "-file", writeDoc(t, doc))
	if code != 1 || !strings.HasPrefix(out, "draw not verified: position 1 is ") {
		t.Errorf("swapped pair: exit %d, stdout %q; want 1 naming position 1", code, out)
	}

	doc = publish(t, 3)
	doc.SeedHash = draw.SeedHash([]byte("x"))
	code, out, _ = runCmd(t, "-file", writeDoc(t, doc))
	if code != 1 || !strings.Contains(out, "shuffleSeedHash") {
		t.Errorf("hash mismatch: exit %d, stdout %q", code, out)
	}

	doc = publish(t, 3)
	doc.Seed = ""
	code, out, _ = runCmd(t, "-file", writeDoc(t, doc))
	if code != 1 || !strings.Contains(out, "no shuffleSeed yet") {
		t.Errorf("unrevealed seed: exit %d, stdout %q", code, out)
	}

	code, _, errOut := runCmd(t, "-file", writeDoc(t, `{"entrants": [`))
	if code != 1 || !strings.Contains(errOut, "not a draw") {
		t.Errorf("malformed JSON: exit %d, stderr %q", code, errOut)
	}
	code, _, errOut = runCmd(t, "-file", filepath.Join(t.TempDir(), "missing.json"))
	if code != 1 || errOut == "" {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
}

func TestFetchesURL(t *testing.T) {
	doc := publish(t, 5)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/events/e1/queue/draw" {
			http.Error(w, `{"error":"not found"}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	defer srv.Close()

	code, out, errOut := runCmd(t, "-url", srv.URL+"/v1/events/e1/queue/draw")
	if code != 0 || !strings.HasPrefix(out, "draw verified: 5 entrants") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	code, _, errOut = runCmd(t, "-url", srv.URL+"/v1/events/e2/queue/draw")
	if code != 1 || !strings.Contains(errOut, "404") {
		t.Errorf("missing draw: exit %d, stderr %q; want 1 mentioning 404", code, errOut)
	}
}

func TestAccountPosition(t *testing.T) {
	doc := publish(t, 10)
	path := writeDoc(t, doc)
	id := draw.EntrantID("e1", "fan-3")
	var pos int
	for _, e := range doc.Entrants {
		if e.Entrant == id {
			pos = e.Position
		}
	}

	code, out, _ := runCmd(t, "-file", path, "-account", "fan-3")
	want := fmt.Sprintf("account fan-3: entrant %s, position %d of 10\n", id, pos)
	if code != 0 || !strings.HasSuffix(out, want) {
		t.Errorf("exit %d, stdout %q; want it to end with %q", code, out, want)
	}
	code, out, _ = runCmd(t, "-file", path, "-account", "fan-3", "-event", "e1")
	if code != 0 || !strings.HasSuffix(out, want) {
		t.Errorf("with -event: exit %d, stdout %q", code, out)
	}
	code, out, _ = runCmd(t, "-file", path, "-account", "late-fan")
	if code != 0 || !strings.Contains(out, "is not in the draw") {
		t.Errorf("absent account: exit %d, stdout %q", code, out)
	}
	if code, _, _ = runCmd(t, "-file", path, "-account", "fan-3", "-event", "e2"); code != 2 {
		t.Errorf("-event of another draw: exit %d, want 2", code)
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-file", "a.json", "-url", "http://127.0.0.1:1/"},
		{"-file", "a.json", "extra"},
		{"-file", "a.json", "-event", "e1"},
		{"-no-such-flag"},
	} {
		if code, _, errOut := runCmd(t, args...); code != 2 || !strings.Contains(errOut, "usage:") {
			t.Errorf("%q: exit %d, stderr %q; want 2 with usage", args, code, errOut)
		}
	}
	if code, _, _ := runCmd(t, "-h"); code != 0 {
		t.Errorf("-h: exit %d", code)
	}
}
