package paymentstest

import (
	"bufio"
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// StripeMockURLEnv names an environment variable that, when set, points
// the tests at an already running stripe-mock instead of starting one.
const StripeMockURLEnv = "STRIPE_MOCK_URL"

// StartStripeMock builds stripe-mock (the version go.mod pins as a tool)
// with the go command, starts it on 127.0.0.1 with a port the kernel picks
// (-http-addr 127.0.0.1:0, read back from its log, so no port race), and
// returns its base URL. The HTTPS listener stripe-mock opens by default
// (on [::]:12112, which would clash between parallel runs) is moved to
// another free loopback port. t.Cleanup kills the process group and reaps
// the process.
func StartStripeMock(t testing.TB) string {
	t.Helper()
	if u := os.Getenv(StripeMockURLEnv); u != "" {
		return strings.TrimRight(u, "/")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "stripe-mock")
	build := exec.Command(goBin, "build", "-o", bin, "github.com/stripe/stripe-mock")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build stripe-mock: %v\n%s", err, out)
	}
	logPath := filepath.Join(dir, "stripe-mock.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	newProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start stripe-mock: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		killGroup(cmd)
		<-exited
		if t.Failed() {
			if b, err := os.ReadFile(logPath); err == nil {
				t.Logf("stripe-mock log (tail):\n%s", tail(b, 40))
			}
		}
	})
	const prefix = "Listening for HTTP at address: "
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			b, _ := os.ReadFile(logPath)
			t.Fatalf("stripe-mock exited early:\n%s", b)
		default:
		}
		b, _ := os.ReadFile(logPath)
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), prefix); ok {
				if _, _, err := net.SplitHostPort(addr); err == nil {
					return "http://" + addr
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("stripe-mock did not report its address within 30 s")
	return ""
}

func tail(b []byte, lines int) string {
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
