package localsfn

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestStartWithoutNodeSaysWhatToInstall(t *testing.T) {
	_, file, _, _ := runtime.Caller(0)
	t.Setenv("PATH", t.TempDir())
	_, err := Start(context.Background(), Options{RepoRoot: filepath.Join(filepath.Dir(file), "..", "..")})
	if err == nil || !strings.Contains(err.Error(), "Node.js") || !strings.Contains(err.Error(), "npm ci") {
		t.Fatalf("want an error naming Node.js and npm ci, got %v", err)
	}
}

func TestStartFailsOnAnInvalidDefinition(t *testing.T) {
	r := root(t)
	bad := filepath.Join(t.TempDir(), "bad.asl.json")
	if err := os.WriteFile(bad, []byte(`{"StartAt":"Missing","States":{"P":{"Type":"Pass","End":true}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Start(context.Background(), Options{RepoRoot: r, Definitions: map[string]string{"bad": bad}, Logger: testLogger()})
	if err == nil {
		_ = s.Close()
		t.Fatal("Start accepted an invalid definition")
	}
	if !strings.Contains(err.Error(), "InvalidDefinition") || !strings.Contains(err.Error(), `"bad"`) {
		t.Fatalf("error does not say which definition is invalid: %v", err)
	}
}
