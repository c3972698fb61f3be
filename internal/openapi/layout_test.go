package openapi_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/testenv"
)

// TestREADMELayoutListsEveryPackage: the README's layout section names every
// Go package directory under internal/ (and infra/, scripts/), so a newcomer
// can find a package by its group, and names none that is gone.
func TestREADMELayoutListsEveryPackage(t *testing.T) {
	root := testenv.RepoRoot(t)
	readme := testenv.RepoFile(t, "README.md")
	start := strings.Index(string(readme), "\n## Layout\n")
	if start < 0 {
		t.Fatal("README has no ## Layout section")
	}
	section := string(readme[start+1:])
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	listed := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^((?:internal|infra|scripts)(?:/[a-z0-9/_-]*[a-z0-9])?)\s`).FindAllStringSubmatch(section, -1) {
		listed[m[1]] = true
	}

	var pkgs []string
	for _, top := range []string{"internal", "infra", "scripts"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(p, ".go") {
				return nil
			}
			rel, _ := filepath.Rel(root, filepath.Dir(p))
			if !slices.Contains(pkgs, rel) {
				pkgs = append(pkgs, rel)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range pkgs {
		if !listed[p] {
			t.Errorf("README layout does not list package %s", p)
		}
	}
	for p := range listed {
		if !slices.Contains(pkgs, p) {
			if _, err := os.Stat(filepath.Join(root, p)); err != nil {
				t.Errorf("README layout lists %s, which does not exist", p)
			}
		}
	}
}
