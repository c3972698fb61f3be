package webtest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/testenv"
)

// weighedPages are the site's entry pages with their budgets. The budgets
// are what a fan on a slow phone connection should have to fetch before the
// page works; raise one only with a reason.
var weighedPages = []struct {
	name string
	html string // path under web/
	// fetched are documents a module fetches by a literal path on every
	// first load (lib.js's loadConfig, called by app.js at start-up).
	fetched               []string
	budgetRaw, budgetGzip int
}{
	// The fan site grew by the price breakdown every hold and order shows
	// (ADR 26), then by the hooks of the live codes, transfers, declined
	// cards, offline copies and cancellation notices (their code loads on
	// demand); the seat picker and venue map load only at the seats.
	{name: "fan site", html: "index.html", fetched: []string{"config.json"}, budgetRaw: 82_000, budgetGzip: 27_000},
	// Organizers work at a desk; the console grew by the venue map's
	// shapes in its CSV import (ADR 27) and the hooks of the seat,
	// cancellation and money panels, which load on demand.
	{name: "console", html: "console/index.html", budgetRaw: 66_000, budgetGzip: 22_500},
	// The gate runs on a staff phone at a door, often on a weak signal.
	{name: "gate", html: "gate/index.html", fetched: []string{"config.json"}, budgetRaw: 48_000, budgetGzip: 18_000},
}

// TestPageWeight measures what a first load of each page fetches from the
// site: the HTML, its stylesheets, module preloads and scripts, every
// module those import statically, and the documents listed in fetched.
// Modules imported dynamically (import('./x.js')) load only on some paths
// and are reported separately. It logs the figures the README quotes
// (uncompressed bytes, and the sum of each file gzipped at level 9, as a
// CDN compresses each response), fails when a page is over its budget, and
// fails when the README's figures are more than 10% off the measured ones.
func TestPageWeight(t *testing.T) {
	root := testenv.RepoRoot(t)
	web := filepath.Join(root, "web")
	readme := testenv.RepoFile(t, "README.md")
	optional := map[string]bool{}
	for _, p := range weighedPages {
		t.Run(strings.ReplaceAll(p.name, " ", "_"), func(t *testing.T) {
			files, lazy := pageFiles(t, web, p.html)
			for _, f := range p.fetched {
				files = appendNew(files, f)
			}
			var raw, gz int
			var lines []string
			for _, f := range files {
				r, g := weigh(t, filepath.Join(web, filepath.FromSlash(f)))
				raw += r
				gz += g
				lines = append(lines, fmt.Sprintf("  %-20s %7d %7d", f, r, g))
			}
			for _, f := range lazy {
				optional[f] = true
			}
			t.Logf("%s: %s bytes (%s gzipped) in %d files\n%s", p.name, comma(raw), comma(gz), len(files), strings.Join(lines, "\n"))
			if raw > p.budgetRaw || gz > p.budgetGzip {
				t.Errorf("%s weighs %s bytes (%s gzipped); the budget is %s (%s gzipped)",
					p.name, comma(raw), comma(gz), comma(p.budgetRaw), comma(p.budgetGzip))
			}
			checkQuoted(t, readme, p.name, raw, gz)
		})
	}
	for f := range optional {
		r, g := weigh(t, filepath.Join(web, filepath.FromSlash(f)))
		t.Logf("loaded on demand: %s, %s bytes (%s gzipped)", f, comma(r), comma(g))
	}
}

var (
	htmlRef    = regexp.MustCompile(`<(?:link rel="(?:stylesheet|modulepreload)" href|script src)="([^"]+)"`)
	staticImp  = regexp.MustCompile(`(?s)\bimport\s+(?:[^;'"()]*?\bfrom\s*)?['"]([^'"]+)['"]`)
	dynamicImp = regexp.MustCompile(`\bimport\(\s*['"]([^'"]+)['"]\s*\)`)
)

// pageFiles lists the files under web/ that the page loads on every first
// load, and those its modules import dynamically, as slash paths under web/.
func pageFiles(t *testing.T, web, html string) (files, lazy []string) {
	t.Helper()
	files = []string{html}
	data := read(t, web, html)
	var queue []string
	for _, m := range htmlRef.FindAllSubmatch(data, -1) {
		queue = append(queue, resolve(html, string(m[1])))
	}
	for len(queue) > 0 {
		f := queue[0]
		queue = queue[1:]
		if slices.Contains(files, f) {
			continue
		}
		files = append(files, f)
		if !strings.HasSuffix(f, ".js") {
			continue
		}
		src := read(t, web, f)
		for _, m := range staticImp.FindAllSubmatch(src, -1) {
			queue = append(queue, resolve(f, string(m[1])))
		}
		for _, m := range dynamicImp.FindAllSubmatch(src, -1) {
			lazy = appendNew(lazy, resolve(f, string(m[1])))
		}
	}
	return files, lazy
}

// resolve is ref as a slash path under web/, from the file that names it.
func resolve(from, ref string) string {
	if strings.HasPrefix(ref, "/") {
		return strings.TrimPrefix(path.Clean(ref), "/")
	}
	return path.Join(path.Dir(from), ref)
}

func read(t *testing.T, web, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(web, filepath.FromSlash(f)))
	if err != nil {
		t.Fatalf("the page loads %s: %v", f, err)
	}
	return b
}

// weigh is the file's size and its size gzipped at level 9.
func weigh(t *testing.T, file string) (raw, gz int) {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	w, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return len(b), buf.Len()
}

// checkQuoted finds the README's line "<name>: <bytes> bytes (<gzip> gzipped)"
// and fails when either figure is more than 10% off the measurement.
func checkQuoted(t *testing.T, readme []byte, name string, raw, gz int) {
	t.Helper()
	want := fmt.Sprintf("%s: %s bytes (%s gzipped)", name, comma(raw), comma(gz))
	m := regexp.MustCompile(regexp.QuoteMeta(name) + `: ([0-9,]+) bytes \(([0-9,]+) gzipped\)`).FindSubmatch(readme)
	if m == nil {
		t.Errorf("README.md does not quote the %s's weight; add %q to its page weight paragraph", name, want)
		return
	}
	quotedRaw, _ := strconv.Atoi(strings.ReplaceAll(string(m[1]), ",", ""))
	quotedGz, _ := strconv.Atoi(strings.ReplaceAll(string(m[2]), ",", ""))
	if off(quotedRaw, raw) || off(quotedGz, gz) {
		t.Errorf("README.md quotes %q, measured %q: update the README", m[0], want)
	}
}

func off(quoted, measured int) bool {
	d := quoted - measured
	if d < 0 {
		d = -d
	}
	return d*10 > measured
}

func appendNew(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

// comma writes n with thousands separators, as the README does.
func comma(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
