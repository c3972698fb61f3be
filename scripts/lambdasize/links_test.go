package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/topology"
)

// part is a package a function binary links only if its topology says it
// uses what the package does.
type part struct {
	pkg  string
	uses func(tp topology.Topology, f topology.Function) bool
}

// parts are the heavy packages whose linking follows the topology: the AWS
// clients a function's access names, the payment providers, the QR
// encoder; never the dev token issuer or the OpenAPI library, nor the
// SDK's clients of the services internal/awsjson calls (SQS, Secrets
// Manager, WAF: each links the service's whole model).
var parts = []part{
	{"github.com/aws/aws-sdk-go-v2/service/sesv2", func(_ topology.Topology, f topology.Function) bool { return f.Access.Email }},
	{"github.com/aws/aws-sdk-go-v2/service/sfn", func(_ topology.Topology, f topology.Function) bool {
		return f.Access.Workflow.StateMachine != ""
	}},
	{"github.com/stararena/stararena/internal/mail/sqsmail", func(_ topology.Topology, f topology.Function) bool { return len(f.Access.SendTo) > 0 }},
	{"github.com/stararena/stararena/internal/botlevel/wafedge", func(_ topology.Topology, f topology.Function) bool { return f.Access.BotLevel }},
	{"github.com/aws/aws-sdk-go-v2/service/sqs", never},
	{"github.com/aws/aws-sdk-go-v2/service/secretsmanager", never},
	{"github.com/aws/aws-sdk-go-v2/service/wafv2", never},
	{"github.com/stararena/stararena/internal/payments/stripe", func(_ topology.Topology, f topology.Function) bool {
		return f.Access.Payments != topology.PaymentsNone
	}},
	{"github.com/yeqown/go-qrcode/v2", showsTicketImages},
	{"github.com/stararena/stararena/internal/auth/devissuer", never},
	{"github.com/pb33f/libopenapi", never},
}

func never(topology.Topology, topology.Function) bool { return false }

// showsTicketImages: the function mails tickets (their images travel in
// the message) or serves a fan's tickets route (each with its QR image).
func showsTicketImages(tp topology.Topology, f topology.Function) bool {
	if f.Access.Email {
		return true
	}
	for _, r := range tp.Routes {
		if r.Function == f.Name && r.Auth == topology.AuthFan && strings.HasSuffix(r.Path, "/tickets") {
			return true
		}
	}
	return false
}

// TestEachFunctionLinksOnlyWhatItUses reads what each functions/<name>
// main links, as scripts/build.sh builds it (linux/arm64, its tags), and
// requires every part above to be linked exactly by the functions whose
// topology entry uses it: a main that wires more links more (a larger
// binary and a slower cold start), a main that wires less fails at
// start-up in AWS.
func TestEachFunctionLinksOnlyWhatItUses(t *testing.T) {
	if testing.Short() {
		t.Skip("go list of every function main skipped in -short mode")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "list", "-tags", buildTags, "-f", `{{.ImportPath}} {{join .Deps " "}}`, "./functions/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := map[string][]string{}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		deps[filepath.Base(fields[0])] = fields[1:]
	}
	tp := topology.Default()
	for _, f := range tp.Functions {
		ds, ok := deps[f.Name]
		if !ok {
			t.Errorf("%s: no functions/%s main", f.Name, f.Name)
			continue
		}
		for _, p := range parts {
			linked := slices.ContainsFunc(ds, func(d string) bool { return d == p.pkg || strings.HasPrefix(d, p.pkg+"/") })
			if want := p.uses(tp, f); linked != want {
				t.Errorf("%s links %s: %v, want %v (from its topology entry)", f.Name, p.pkg, linked, want)
			}
		}
	}
	if len(deps) != len(tp.Functions) {
		t.Errorf("%d mains under functions/, %d functions in the topology", len(deps), len(tp.Functions))
	}
}

// symbolParts are pieces that go list cannot tell apart (internal/app and
// internal/handlers serve every function, and a package in the import
// graph is not yet in the binary): they are found by symbol in the linked
// binaries instead.
var symbolParts = []struct {
	what string
	// has reports whether a symbol is the piece.
	has  func(sym string) bool
	uses func(tp topology.Topology, f topology.Function) bool
}{
	// The mailer's batch handler, in the function the mail queue feeds.
	{"the mailer", func(sym string) bool {
		return sym == "github.com/stararena/stararena/internal/mail.(*Mailer).HandleBatch"
	},
		func(tp topology.Topology, f topology.Function) bool {
			for _, q := range tp.Queues {
				if q.Name == topology.MailQueue && q.Consumer == f.Name {
					return true
				}
			}
			return false
		}},
	// Executing a template calls methods by name through reflection, and
	// then the linker keeps every exported method of every type converted
	// to an interface: none may (ADR 19).
	{"template execution", func(sym string) bool { return strings.HasPrefix(sym, "text/template.(*state).") }, never},
}

const appPkg = "github.com/stararena/stararena/internal/app"

// builderOf names the function of an HTTP handler builder's symbol
// ("catalog" for app.CatalogHTTP), or "" for any other symbol (RunHTTP,
// which every HTTP main calls, among them).
func builderOf(sym string) string {
	name, ok := strings.CutPrefix(sym, appPkg+".")
	if !ok || name == "RunHTTP" || !strings.HasSuffix(name, "HTTP") || strings.ContainsAny(name, ".()*") {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(name, "HTTP"))
}

// TestEachFunctionLinksOnlyItsHandlerAndServices builds every function
// main as scripts/build.sh does but with its symbols, and requires each
// HTTP function to link its own handler's builder and no other (a main
// that named the local stack's table of every handler would link every
// handler and, through them, every service), the mailer's batch handler
// only in the mailer, and template execution in none.
func TestEachFunctionLinksOnlyItsHandlerAndServices(t *testing.T) {
	if testing.Short() {
		t.Skip("linking every function main skipped in -short mode")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-tags", buildTags, "-trimpath", "-o", dir+string(filepath.Separator), "./functions/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tp := topology.Default()
	for _, f := range tp.Functions {
		bin, err := elf.Open(filepath.Join(dir, f.Name))
		if err != nil {
			t.Errorf("%s: %v", f.Name, err)
			continue
		}
		syms, err := bin.Symbols()
		bin.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		var builders []string
		found := make([]bool, len(symbolParts))
		for _, s := range syms {
			if b := builderOf(s.Name); b != "" {
				builders = append(builders, b)
			}
			for i, p := range symbolParts {
				if p.has(s.Name) {
					found[i] = true
				}
			}
		}
		var want []string
		if slices.ContainsFunc(tp.Routes, func(r topology.Route) bool { return r.Function == f.Name }) {
			want = []string{strings.ReplaceAll(f.Name, "-", "")}
		}
		slices.Sort(builders)
		if !slices.Equal(slices.Compact(builders), want) {
			t.Errorf("%s links the HTTP handler builders of %v, want %v (its routes in the topology)", f.Name, builders, want)
		}
		for i, p := range symbolParts {
			if want := p.uses(tp, f); found[i] != want {
				t.Errorf("%s links %s: %v, want %v (from its topology entry)", f.Name, p.what, found[i], want)
			}
		}
	}
}
