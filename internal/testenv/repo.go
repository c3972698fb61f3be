package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stararena/stararena/internal/openapi"
)

// RepoRoot is the repository root (see openapi.RepoRoot); the test fails
// when there is none.
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	root, err := openapi.RepoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return root
}

// RepoFile reads a file of the repository, given by its path from the root
// (README.md, docs/openapi.yaml...).
func RepoFile(tb testing.TB, path ...string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{RepoRoot(tb)}, path...)...))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}
