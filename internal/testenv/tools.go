package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// RequireTools reports whether STARARENA_REQUIRE_TOOLS=1 asks tests that
// need an outside tool (moto_server, cfn-lint) to fail when it is absent
// instead of skipping: CI sets it, so CI never skips them silently.
func RequireTools() bool { return os.Getenv("STARARENA_REQUIRE_TOOLS") == "1" }

// Tool returns the path of an outside program the test needs. When it is
// not on PATH the test skips with the reason printed, or fails under
// RequireTools.
func Tool(tb testing.TB, name, installHint string) string {
	tb.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s not found on PATH (%s)", name, installHint)
	if RequireTools() {
		tb.Fatal(msg + "; STARARENA_REQUIRE_TOOLS=1 forbids skipping")
	}
	tb.Skip(msg + "; skipping")
	return ""
}

// Moto starts moto_server (moto's all-services AWS emulator) on a free
// loopback port and returns its endpoint; it stops when the test ends.
// Each call gets a server of its own, so tests do not see each other's
// tables or queues.
func Moto(tb testing.TB) string {
	tb.Helper()
	bin := Tool(tb, "moto_server", "pip install 'moto[server]'")
	// moto_server cannot be told to pick a port and report it, so a free
	// port is found first; another process may take it in between, hence
	// the retry.
	var lastErr error
	for range 3 {
		port, err := freePort()
		if err != nil {
			tb.Fatal(err)
		}
		endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
		cmd := exec.Command(bin, "-H", "127.0.0.1", "-p", strconv.Itoa(port))
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Start(); err != nil {
			tb.Fatalf("start moto_server: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if lastErr = waitReady(endpoint, exited, 30*time.Second); lastErr == nil {
			tb.Cleanup(func() {
				_ = cmd.Process.Kill()
				<-exited
			})
			return endpoint
		}
		_ = cmd.Process.Kill()
	}
	tb.Fatalf("moto_server did not start: %v", lastErr)
	return ""
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls moto's own API until it answers, the process exits, or
// the deadline passes.
func waitReady(endpoint string, exited <-chan error, within time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/moto-api/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("moto_server exited: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("moto_server at %s not ready after %s", endpoint, within)
		case <-tick.C:
		}
	}
}
