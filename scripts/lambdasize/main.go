// Command lambdasize measures what each Lambda function costs to ship and
// to start, beside a hello-world Go function (scripts/lambdasize/hello)
// built and run the same way:
//
//	go run ./scripts/lambdasize            # a markdown table on stdout
//	go run ./scripts/lambdasize -runs 9    # more cold starts per function
//	go run ./scripts/lambdasize -packages admin,orders,hello
//	                                       # what each Go package adds to them
//
// For each function it builds the stripped bootstrap with scripts/build.sh
// for linux/arm64 (as deployed) and for this machine's architecture, then
// starts the host's binary -runs times under AWS's Lambda runtime interface
// emulator, each a fresh process (a cold start), and invokes it once with
// its probe event (internal/lambdarie.Probe). It reports the medians of the
// init duration the emulator measures (process start to the runtime's first
// request for an event: Lambda's "Init Duration") and of the first answer
// (the first invocation's round trip: init plus handling the probe). The
// functions get their Lambda configuration (table name, keyrings) pointed
// at an embedded DynamoDB with the topology's tables. Linux only (the
// emulator's platform); run it from the repository root.
//
// With -packages it builds the named functions for linux/arm64 with their
// symbols instead and lists the bytes of code and data each Go package
// puts in each binary (symbol sizes: the runtime's function tables, about
// as large again as the code, are not counted), the largest first: where
// a function's size goes, and what a change took out (run it before and
// after, or beside hello).
package main

import (
	"cmp"
	"context"
	"debug/elf"
	"flag"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/lambdarie"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/topology"
)

// baseline is the hello-world function's name (scripts/lambdasize/hello).
const baseline = "hello"

func main() {
	runs := flag.Int("runs", 5, "cold starts per function; the medians are reported")
	pkgs := flag.String("packages", "", "instead: the bytes each Go package adds to these functions (comma-separated; hello is the baseline)")
	top := flag.Int("top", 40, "with -packages, the number of packages listed")
	flag.Parse()
	if *runs < 1 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	var err error
	if *pkgs != "" {
		err = packageSizes(context.Background(), strings.Split(*pkgs, ","), *top, os.Stdout)
	} else {
		err = run(context.Background(), *runs, os.Stdout, os.Stderr)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdasize:", err)
		os.Exit(1)
	}
}

// measure is one function's figures.
type measure struct {
	name              string
	sizes             map[string]int64 // by GOARCH
	init, firstAnswer time.Duration    // medians
}

func run(ctx context.Context, runs int, out, progress io.Writer) error {
	if runtime.GOOS != "linux" {
		return fmt.Errorf("the Lambda runtime interface emulator runs on Linux only")
	}
	root, err := os.Getwd()
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(root, "scripts", "build.sh")); err != nil {
		return fmt.Errorf("run from the repository root: %w", err)
	}
	dir, err := os.MkdirTemp("", "lambdasize-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	tp := topology.Default()
	var names []string
	for _, f := range tp.Functions {
		names = append(names, f.Name)
	}
	slices.Sort(names)
	arches := []string{"arm64"}
	if runtime.GOARCH != "arm64" {
		arches = append(arches, runtime.GOARCH)
	}
	fmt.Fprintf(progress, "building %d functions and %s for %v\n", len(names), baseline, arches)
	rie, err := lambdarie.BuildEmulator(ctx, root, dir)
	if err != nil {
		return err
	}
	for _, arch := range arches {
		if err := lambdarie.BuildBootstraps(ctx, root, filepath.Join(dir, arch), arch, "functions", names...); err != nil {
			return err
		}
		if err := lambdarie.BuildBootstraps(ctx, root, filepath.Join(dir, arch), arch, "scripts/lambdasize", baseline); err != nil {
			return err
		}
	}

	endpoint, stop, err := embeddedDynamoDB(ctx, tp)
	if err != nil {
		return err
	}
	defer stop()
	vars := map[string]string{"AWS_ENDPOINT_URL_DYNAMODB": endpoint, "TABLE_NAME": "stararena", "LOG_LEVEL": "error"}
	for _, k := range []struct{ env, kid string }{{"ADMISSION_KEYS", "adm1"}, {"TICKET_KEYS", "t1"}} {
		if vars[k.env], err = lambdarie.Keyring(k.kid); err != nil {
			return err
		}
	}

	var ms []measure
	for _, name := range append(names, baseline) {
		m := measure{name: name, sizes: map[string]int64{}}
		for _, arch := range arches {
			fi, err := os.Stat(filepath.Join(dir, arch, name, "bootstrap"))
			if err != nil {
				return err
			}
			m.sizes[arch] = fi.Size()
		}
		payload := []byte(`{}`)
		if name != baseline {
			payload = lambdarie.Probe(tp, name)
		}
		var inits, firsts []time.Duration
		for range runs {
			init, first, err := coldStart(ctx, rie, filepath.Join(dir, runtime.GOARCH, name, "bootstrap"), lambdarie.Env(name, vars), payload)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			inits, firsts = append(inits, init), append(firsts, first)
		}
		m.init, m.firstAnswer = median(inits), median(firsts)
		fmt.Fprintf(progress, "%s: init %s, first answer %s\n", name, m.init, m.firstAnswer)
		ms = append(ms, m)
	}
	report(out, ms, arches, runs)
	return nil
}

// coldStart starts bootstrap under a new emulator and invokes it once.
func coldStart(ctx context.Context, rie, bootstrap string, env []string, payload []byte) (init, first time.Duration, err error) {
	f, err := lambdarie.Start(ctx, rie, bootstrap, env)
	if err != nil {
		return 0, 0, err
	}
	defer f.Close()
	start := time.Now()
	if _, err := f.Invoke(ctx, payload); err != nil {
		return 0, 0, err
	}
	first = time.Since(start)
	init, err = f.InitDuration()
	return init, first, err
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func report(out io.Writer, ms []measure, arches []string, runs int) {
	hello := ms[len(ms)-1]
	// The deployed architecture's size in bytes too: the goal is 10 MB
	// in either unit, at most 10,000,000 bytes.
	fmt.Fprintf(out, "| function | linux/%s | bytes |", arches[0])
	for _, a := range arches[1:] {
		fmt.Fprintf(out, " linux/%s |", a)
	}
	fmt.Fprintf(out, " init (median of %d) | − %s | first answer |\n|---|---:|", runs, baseline)
	for range arches {
		fmt.Fprint(out, "---:|")
	}
	fmt.Fprintln(out, "---:|---:|---:|")
	for _, m := range ms {
		fmt.Fprintf(out, "| %s |", m.name)
		for i, a := range arches {
			fmt.Fprintf(out, " %.1f MiB |", float64(m.sizes[a])/(1<<20))
			if i == 0 {
				fmt.Fprintf(out, " %s |", thousands(m.sizes[a]))
			}
		}
		fmt.Fprintf(out, " %.1f ms | %+.1f ms | %.1f ms |\n", ms1(m.init), ms1(m.init-hello.init), ms1(m.firstAnswer))
	}
}

// thousands writes n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func ms1(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// embeddedDynamoDB serves the embedded DynamoDB on a loopback port with the
// topology's tables.
func embeddedDynamoDB(ctx context.Context, tp topology.Topology) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: localdynamo.New(localdynamo.Options{}), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop := func() { _ = srv.Close() }
	endpoint := "http://" + ln.Addr().String()
	db, err := dynamo.NewClient(ctx, dynamo.ClientOptions{Region: "us-east-1", Endpoint: endpoint, StaticCredentials: true})
	if err == nil {
		err = dynamo.CreateTables(ctx, db, tp.Tables, map[string]string{topology.MainTable: "stararena"})
	}
	if err != nil {
		stop()
		return "", nil, err
	}
	return endpoint, stop, nil
}

// buildTags are scripts/build.sh's build tags (TestBuildTagsAreBuildScripts):
// the builds here that keep their symbols use them too, so they link what
// ships.
const buildTags = "lambda.norpc,lambdabuild,nethttpomithttp2"

// packageSizes builds each named function (or hello) for linux/arm64 as
// scripts/build.sh does but with its symbols, and writes a markdown table
// of the top packages by the bytes of their symbols in the first one.
func packageSizes(ctx context.Context, names []string, top int, out io.Writer) error {
	dir, err := os.MkdirTemp("", "lambdasize-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	sums := make([]map[string]int64, len(names))
	totals := make([]int64, len(names))
	for i, name := range names {
		src := "./functions/" + name
		if name == baseline {
			src = "./scripts/lambdasize/" + baseline
		}
		bin := filepath.Join(dir, name)
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", buildTags, "-trimpath", "-o", bin, src)
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %w\n%s", src, err, b)
		}
		if sums[i], err = symbolSizes(bin); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, n := range sums[i] {
			totals[i] += n
		}
	}
	pkgs := slices.SortedFunc(maps.Keys(sums[0]), func(a, b string) int { return cmp.Or(cmp.Compare(sums[0][b], sums[0][a]), cmp.Compare(a, b)) })
	fmt.Fprintf(out, "| package | %s |\n|---|%s\n", strings.Join(names, " | "), strings.Repeat("---:|", len(names)))
	row := func(label string, cell func(i int) int64) {
		fmt.Fprintf(out, "| %s |", label)
		for i := range names {
			fmt.Fprintf(out, " %s |", thousands(cell(i)))
		}
		fmt.Fprintln(out)
	}
	for _, p := range pkgs[:min(top, len(pkgs))] {
		row(p, func(i int) int64 { return sums[i][p] })
	}
	row("all symbols", func(i int) int64 { return totals[i] })
	return nil
}

// symbolSizes sums an ELF binary's symbol sizes by Go package, leaving out
// the zeroed data (.bss, .noptrbss), which takes no room in the file.
func symbolSizes(path string) (map[string]int64, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	sums := map[string]int64{}
	for _, s := range syms {
		if int(s.Section) >= len(f.Sections) || f.Sections[s.Section].Type == elf.SHT_NOBITS {
			continue
		}
		sums[symbolPackage(s.Name)] += int64(s.Size)
	}
	return sums, nil
}

// symbolPackage is the Go package a symbol belongs to:
// "github.com/aws/aws-sdk-go-v2/service/sqs" for
// "github.com/aws/aws-sdk-go-v2/service/sqs.(*Client).SendMessage",
// "slices" for an instance of a generic function of slices whatever its
// type arguments, and the linker's groups ("type:", "go:") as they are.
func symbolPackage(sym string) string {
	if i := strings.IndexByte(sym, '['); i >= 0 {
		sym = sym[:i]
	}
	if p, _, ok := strings.Cut(sym, ":"); ok && !strings.Contains(p, "/") && !strings.Contains(p, ".") {
		return p + ":"
	}
	slash := strings.LastIndexByte(sym, '/')
	if dot := strings.IndexByte(sym[slash+1:], '.'); dot >= 0 {
		return sym[:slash+1+dot]
	}
	return sym
}
