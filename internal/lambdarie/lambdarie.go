// Package lambdarie runs built bootstrap binaries under AWS's Lambda Runtime
// Interface Emulator (the aws-lambda-rie tool pinned in go.mod), outside a
// container: the binary that ships answers the events, through the Runtime
// API that Lambda's provided.al2023 runtime speaks, instead of its handler
// called in-process.
package lambdarie

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// EmulatorPackage is the emulator's command, pinned by the tool directive in
// go.mod.
const EmulatorPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

// BuildEmulator builds the pinned emulator into dir and returns its path.
// root is the module's root.
func BuildEmulator(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "aws-lambda-rie")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", out, EmulatorPackage)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Lambda emulator: %w\n%s", err, b)
	}
	return out, nil
}

// BuildBootstraps builds the named mains of root/src (functions for the
// Lambda functions) for linux/goarch into dir/<name>/bootstrap with
// scripts/build.sh, the script that builds what is deployed, so they carry
// its tags and flags.
func BuildBootstraps(ctx context.Context, root, dir, goarch, src string, names ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(root, "scripts", "build.sh"), names...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "ARCH="+goarch, "DIST="+dir, "SRC="+src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("scripts/build.sh (%s): %w\n%s", goarch, err, b)
	}
	return nil
}

// Function is one bootstrap running under its own emulator process.
type Function struct {
	url  string
	cmd  *exec.Cmd
	out  *buffer
	done chan struct{}
	err  error // the emulator's exit, once done is closed
}

// Start runs bootstrap under the emulator on loopback ports of its own. env
// is the whole environment: the emulator hands its own to the function, as
// Lambda hands a function its configured variables. The function's init
// runs on the first Invoke, as in Lambda.
func Start(ctx context.Context, emulator, bootstrap string, env []string) (*Function, error) {
	apiAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	rieAddr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	f := &Function{url: "http://" + rieAddr + "/2015-03-31/functions/function/invocations", out: &buffer{}, done: make(chan struct{})}
	f.cmd = exec.Command(emulator, "--log-level", "info",
		"--runtime-interface-emulator-address", rieAddr, "--runtime-api-address", apiAddr, bootstrap)
	f.cmd.Dir = filepath.Dir(bootstrap)
	f.cmd.Env = env
	f.cmd.Stdout, f.cmd.Stderr = f.out, f.out
	// Its own process group, so Close also reaches the function's process
	// should the emulator die before it kills it.
	f.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := f.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start the Lambda emulator: %w", err)
	}
	go func() { f.err = f.cmd.Wait(); close(f.done) }()
	if err := f.waitListening(ctx, rieAddr, 10*time.Second); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func (f *Function) waitListening(ctx context.Context, addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return c.Close()
		}
		select {
		case <-f.done:
			return fmt.Errorf("the Lambda emulator exited (%v) before listening on %s:\n%s", f.err, addr, f.out)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the Lambda emulator is not listening on %s after %s:\n%s", addr, within, f.out)
		}
	}
}

// Invoke sends payload as the event and returns what the function
// answered. A function's error comes back as its error document
// ({"errorMessage","errorType"}) like any answer: unlike Lambda's Invoke API,
// the emulator sets no X-Amz-Function-Error header to tell them apart.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("invoke: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("invoke: the emulator answered %d: %s\n%s", resp.StatusCode, body, f.out)
	}
	return body, nil
}

var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// InitDuration is what the emulator measured of the function's init: from
// starting the process to its first request for an event, Lambda's "Init
// Duration". The emulator logs it before the first invocation runs; its
// logs come through a pipe, so this waits a little for the line.
func (f *Function) InitDuration() (time.Duration, error) {
	var m []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		if m = initReport.FindStringSubmatch(f.out.String()); m != nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, errors.New("the emulator reported no init duration (no invocation yet?)")
		}
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("init duration %q: %w", m[1], err)
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// Output is what the emulator and the function wrote so far (the
// emulator's logs and the function's, interleaved).
func (f *Function) Output() string { return f.out.String() }

// Close stops the emulator, which kills the function's process.
func (f *Function) Close() {
	select {
	case <-f.done:
		return
	default:
	}
	_ = f.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-f.done:
	case <-time.After(5 * time.Second):
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		<-f.done
	}
}

// freeAddr is a loopback address nobody listens on right now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// buffer collects the emulator's output while it runs.
type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
