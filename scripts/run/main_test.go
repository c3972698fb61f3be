//go:build unix

package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/testenv"
)

// TestStopsCleanlyOnSignal builds the command and stops it as Ctrl-C and
// `kill` do. After a clean stop it exits 0 (make run then ends without
// "Error 1"); a real failure exits 1.
func TestStopsCleanlyOnSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command and starts the local stack")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build scripts/run with")
	}
	root := testenv.RepoRoot(t)
	bin := filepath.Join(t.TempDir(), "run")
	build := exec.Command(goBin, "build", "-o", bin, "./scripts/run")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./scripts/run: %v\n%s", err, out)
	}

	for name, sig := range map[string]syscall.Signal{"SIGINTExits0": syscall.SIGINT, "SIGTERMExits0": syscall.SIGTERM} {
		t.Run(name, func(t *testing.T) {
			cmd, stdout, stderr := command(t, bin, root, "PORT=0")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() { _ = cmd.Process.Kill() }() // only when the test failed before Wait
			waitReady(t, stdout, stderr)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if err != nil || !strings.Contains(stdout.String(), "\nstopping\n") {
					t.Fatalf("after %v: %v, want a clean stop and exit status 0\nstdout:\n%s\nstderr:\n%s", sig, err, stdout, stderr)
				}
			case <-time.After(30 * time.Second):
				t.Fatalf("still running 30 s after %v\nstderr:\n%s", sig, stderr)
			}
		})
	}

	t.Run("BadConfigurationExits1", func(t *testing.T) {
		cmd, _, stderr := command(t, bin, root, "PORT=70000")
		err := cmd.Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), "PORT") {
			t.Fatalf("PORT=70000: %v, want exit status 1 naming PORT\nstderr:\n%s", err, stderr)
		}
	})
}

// command is the built command with a quiet, demo-free stack on a table of
// its own (the embedded DynamoDB, or AWS_ENDPOINT_URL_DYNAMODB when set).
func command(t *testing.T, bin, root, port string) (*exec.Cmd, *output, *output) {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), port, "DEMO=off", "LOG_LEVEL=error",
		fmt.Sprintf("TABLE_NAME=run-%d", time.Now().UnixNano()), "WEB_DIR="+filepath.Join(root, "web"))
	stdout, stderr := newOutput(), newOutput()
	cmd.Stdout, cmd.Stderr = stdout, stderr
	return cmd, stdout, stderr
}

// waitReady waits until the banner says the stack is ready.
func waitReady(t *testing.T, stdout, stderr *output) {
	t.Helper()
	select {
	case <-stdout.ready:
	case <-time.After(2 * time.Minute):
		t.Fatalf("not ready after 2 minutes\nstdout:\n%s\nstderr:\n%s", stdout, stderr)
	}
}

// output collects what the command writes and closes ready once a line
// starts with "ready in".
type output struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan struct{}
	once  sync.Once
}

func newOutput() *output { return &output{ready: make(chan struct{})} }

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.buf.Write(p)
	if bytes.Contains(o.buf.Bytes(), []byte("\nready in")) {
		o.once.Do(func() { close(o.ready) })
	}
	return len(p), nil
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
