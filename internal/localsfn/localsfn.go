// Package localsfn runs the local stand-in for AWS Step Functions: the Node
// sidecar scripts/sfnlocal/server.mjs, which executes the repository's ASL
// files on the npm package aws-local-stepfunctions and answers the Step
// Functions API calls the Go code makes through the real aws-sdk-go-v2 sfn
// client. Its Lambda tasks call a Lambda-Invoke-shaped endpoint; serve one
// with LambdaEndpoint.
//
// Start launches the sidecar as a child process on 127.0.0.1 and registers
// the state machine definitions with CreateStateMachine; the sidecar replaces
// their ${Function_<name>} placeholders with Lambda ARNs, as the CDK's
// DefinitionSubstitutions do in AWS. Close kills the sidecar's whole process
// group; if this process dies without Close, the sidecar sees its stdin
// close and exits too. See scripts/sfnlocal/README.md for what the sidecar
// supports and where it differs from Step Functions.
package localsfn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
)

// Region and Account appear in the ARNs the sidecar makes (state machines,
// executions, and the Lambda ARNs it substitutes).
const (
	Region  = "us-east-1"
	Account = "123456789012"
)

// ServerPath is the sidecar's script, from the repository root.
const ServerPath = "scripts/sfnlocal/server.mjs"

// Options configures Start.
type Options struct {
	// RepoRoot holds scripts/sfnlocal/server.mjs and node_modules (npm ci).
	// Empty: the nearest directory above the working directory that has
	// ServerPath.
	RepoRoot string
	// LambdaURL is the base URL of the Lambda Invoke API the tasks call,
	// e.g. an httptest server of LambdaEndpoint.
	LambdaURL string
	// TimeScale multiplies Wait states, Retry intervals and Task and
	// execution timeouts (TimeoutSecondsPath included): 0.01 runs a 900 s
	// hold in 9 s. 0 means 1, real time.
	TimeScale float64
	// Definitions maps state machine names to ASL files, absolute or
	// relative to RepoRoot.
	Definitions map[string]string
	// Logger receives the sidecar's stderr, one record per line. Default
	// slog.Default().
	Logger *slog.Logger
	// Retention is how long closed executions and their task tokens are
	// kept (DescribeExecution, duplicate-name checks). 0 means one hour.
	Retention time.Duration
	// Trace makes the sidecar log every state transition.
	Trace bool
	// StartTimeout bounds start-up when ctx has no deadline. Default 30 s.
	StartTimeout time.Duration
}

// Sidecar is a running sidecar.
type Sidecar struct {
	endpoint string
	arns     map[string]string
	client   *sfn.Client
	cmd      *exec.Cmd
	stdin    io.Closer
	exited   chan struct{} // closed when the process has been waited for
	waitErr  error
	stderr   *tail
	close    sync.Once
	closeErr error
}

// Start runs the sidecar and registers opts.Definitions. ctx bounds start-up
// only; the sidecar runs until Close.
func Start(ctx context.Context, opts Options) (*Sidecar, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	root, err := repoRoot(opts.RepoRoot)
	if err != nil {
		return nil, err
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, errors.New("sfnlocal: `node` not found on PATH: the local Step Functions sidecar needs Node.js 20 or later " +
			"(https://nodejs.org, or your package manager's nodejs package), then `npm ci` in " + root)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "aws-local-stepfunctions", "package.json")); err != nil {
		return nil, fmt.Errorf("sfnlocal: npm package aws-local-stepfunctions is not installed: run `npm ci` in %s (%v)", root, err)
	}
	defs := map[string]string{}
	for _, name := range slices.Sorted(maps.Keys(opts.Definitions)) {
		path := opts.Definitions[name]
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, filepath.FromSlash(path))
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("sfnlocal: state machine %q: %w", name, err)
		}
		defs[name] = string(b)
	}
	scale := opts.TimeScale
	if scale == 0 {
		scale = 1
	}
	if !(scale > 0) {
		return nil, fmt.Errorf("sfnlocal: TimeScale %v: want > 0", scale)
	}

	cmd := exec.Command(node, filepath.Join(root, filepath.FromSlash(ServerPath)))
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"PORT=0",
		"LAMBDA_URL="+opts.LambdaURL,
		"SFN_TIME_SCALE="+strconv.FormatFloat(scale, 'g', -1, 64),
		"SFN_REGION="+Region,
		"SFN_ACCOUNT="+Account,
		"SFN_DEFINITIONS_DIR=", // definitions come through CreateStateMachine
		"SFN_EXIT_ON_STDIN_EOF=1",
	)
	if opts.Retention > 0 {
		cmd.Env = append(cmd.Env, "SFN_RETENTION_SECONDS="+strconv.FormatFloat(opts.Retention.Seconds(), 'g', -1, 64))
	}
	if opts.Trace {
		cmd.Env = append(cmd.Env, "SFN_TRACE=1")
	}
	setProcessGroup(cmd)
	s := &Sidecar{cmd: cmd, exited: make(chan struct{}), stderr: &tail{max: 20}, arns: map[string]string{}}
	listening := make(chan string, 1)
	cmd.Stdout = &lineWriter{line: func(l string) {
		if u, ok := strings.CutPrefix(l, "LISTENING "); ok {
			select {
			case listening <- u:
			default:
			}
			return
		}
		log.Info(l, "component", "sfnlocal")
	}}
	cmd.Stderr = &lineWriter{line: func(l string) {
		s.stderr.add(l)
		log.Info(strings.TrimPrefix(l, "sfnlocal: "), "component", "sfnlocal")
	}}
	// The sidecar exits when this pipe closes: when Close runs, or when this
	// process dies in a way that runs no Go code at all.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("sfnlocal: %w", err)
	}
	s.stdin = stdin
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sfnlocal: start %s: %w", node, err)
	}
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()

	if _, ok := ctx.Deadline(); !ok {
		d := opts.StartTimeout
		if d == 0 {
			d = 30 * time.Second
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d)
		defer cancel()
	}
	select {
	case s.endpoint = <-listening:
	case <-s.exited:
		return nil, fmt.Errorf("sfnlocal: sidecar exited before listening (%v): %s", s.waitErr, s.stderr)
	case <-ctx.Done():
		_ = s.Close()
		return nil, fmt.Errorf("sfnlocal: sidecar did not start: %w: %s", ctx.Err(), s.stderr)
	}

	s.client = newClient(s.endpoint)
	for _, name := range slices.Sorted(maps.Keys(defs)) {
		out, err := s.client.CreateStateMachine(ctx, &sfn.CreateStateMachineInput{
			Name:       aws.String(name),
			Definition: aws.String(defs[name]),
			RoleArn:    aws.String("arn:aws:iam::" + Account + ":role/sfnlocal"),
		})
		if err != nil {
			_ = s.Close()
			return nil, fmt.Errorf("sfnlocal: state machine %q (%s): %w", name, opts.Definitions[name], err)
		}
		s.arns[name] = aws.ToString(out.StateMachineArn)
	}
	log.Debug("sfnlocal started", "endpoint", s.endpoint, "pid", cmd.Process.Pid, "stateMachines", len(s.arns))
	return s, nil
}

// Endpoint is the sidecar's base URL, http://127.0.0.1:<port>.
func (s *Sidecar) Endpoint() string { return s.endpoint }

// StateMachineArn is the ARN of the definition registered under name, or ""
// if there is none.
func (s *Sidecar) StateMachineArn(name string) string { return s.arns[name] }

// Client is an sfn client for the sidecar: static dummy credentials and up
// to 256 idle connections.
func (s *Sidecar) Client() *sfn.Client { return s.client }

// Pid is the sidecar's process id.
func (s *Sidecar) Pid() int { return s.cmd.Process.Pid }

// Stats are the sidecar's totals since start-up.
type Stats struct {
	ExecutionsStarted int64 `json:"executionsStarted"`
	// StateTransitions counts what Step Functions Standard bills: every
	// state entered, plus every retry of one.
	StateTransitions int64 `json:"stateTransitions"`
	// Running is the number of executions still running.
	Running int64 `json:"running"`
}

// Stats reads the sidecar's totals (GET /sfnlocal/stats, not an AWS API).
func (s *Sidecar) Stats(ctx context.Context) (Stats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.endpoint+"/sfnlocal/stats", nil)
	if err != nil {
		return Stats{}, fmt.Errorf("sfnlocal: stats: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Stats{}, fmt.Errorf("sfnlocal: stats: %w", err)
	}
	defer resp.Body.Close()
	var st Stats
	if resp.StatusCode != http.StatusOK {
		return Stats{}, fmt.Errorf("sfnlocal: stats: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return Stats{}, fmt.Errorf("sfnlocal: stats: %w", err)
	}
	return st, nil
}

// Close stops the sidecar and waits for it to exit: SIGTERM to its process
// group, SIGKILL after 3 s. Executions in flight are lost. Safe to call more
// than once.
func (s *Sidecar) Close() error {
	s.close.Do(func() {
		_ = s.stdin.Close()
		select {
		case <-s.exited:
			return // it had already died; Wait reaped it
		default:
		}
		if err := terminate(s.cmd); err != nil {
			s.closeErr = fmt.Errorf("sfnlocal: stop sidecar: %w", err)
		}
		select {
		case <-s.exited:
		case <-time.After(3 * time.Second):
			_ = kill(s.cmd)
			<-s.exited
		}
	})
	return s.closeErr
}

// newClient returns an sfn client for a sidecar at endpoint: static dummy
// credentials (the sidecar checks no signature) and a connection pool sized
// for many concurrent callers (the SDK's default keeps 10 idle connections
// per host, so bursts would churn connections).
func newClient(endpoint string) *sfn.Client {
	return sfn.New(sfn.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "stararena-local"}, nil
		}),
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = 256
			t.MaxIdleConnsPerHost = 256
		}),
	})
}

func repoRoot(root string) (string, error) {
	if root != "" {
		abs, err := filepath.Abs(root)
		if err != nil {
			return "", fmt.Errorf("sfnlocal: %w", err)
		}
		if _, err := os.Stat(filepath.Join(abs, filepath.FromSlash(ServerPath))); err != nil {
			return "", fmt.Errorf("sfnlocal: RepoRoot %s has no %s", abs, ServerPath)
		}
		return abs, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("sfnlocal: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(ServerPath))); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("sfnlocal: no %s above the working directory; set Options.RepoRoot", ServerPath)
		}
		dir = parent
	}
}

// lineWriter calls line for each line written (exec copies a pipe into it
// from one goroutine).
type lineWriter struct {
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line: pass it on in pieces
		w.line(string(w.buf))
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// tail keeps the last lines of the sidecar's stderr for error messages.
type tail struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tail) add(l string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, l)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(no output on stderr)"
	}
	return strings.Join(t.lines, "\n")
}
