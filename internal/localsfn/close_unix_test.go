//go:build unix

package localsfn

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// alive reports whether pid is a running process (a zombie counts as gone).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !os.IsNotExist(err) // no /proc (macOS): trust kill(0)
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z'
	}
	return true
}

func waitGone(pid int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return true
		}
		time.Sleep(10 * time.Millisecond)
	}
	return !alive(pid)
}

// (g) Close leaves no node process behind.
func TestCloseLeavesNoProcess(t *testing.T) {
	r := root(t)
	s, err := Start(context.Background(), Options{RepoRoot: r, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	pid := s.Pid()
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) }) // only matters if Close is broken
	if !alive(pid) {
		t.Fatalf("sidecar pid %d not running after Start", pid)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatalf("node pid %d still running after Close", pid)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// A test binary that dies without running Close (SIGKILL, a panic, a -timeout)
// takes its sidecar with it: the sidecar exits when its stdin pipe closes.
func TestSidecarDiesWithItsParent(t *testing.T) {
	if os.Getenv("SFNLOCAL_TEST_PARENT") == "1" {
		s, err := Start(context.Background(), Options{RepoRoot: os.Getenv("SFNLOCAL_TEST_ROOT"), Logger: testLogger()})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("PID", s.Pid())
		time.Sleep(time.Minute) // until killed
		os.Exit(1)
	}
	r := root(t)
	parent := exec.Command(os.Args[0], "-test.run=^TestSidecarDiesWithItsParent$")
	parent.Env = append(os.Environ(), "SFNLOCAL_TEST_PARENT=1", "SFNLOCAL_TEST_ROOT="+r)
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = parent.Process.Kill(); _ = parent.Wait() }()
	lines := bufio.NewScanner(out)
	pid := 0
	for pid == 0 && lines.Scan() {
		if v, ok := strings.CutPrefix(lines.Text(), "PID "); ok {
			pid, _ = strconv.Atoi(v)
		} else if strings.HasPrefix(lines.Text(), "ERROR") {
			t.Fatal(lines.Text())
		}
	}
	if pid == 0 {
		t.Fatal("the parent process never reported its sidecar")
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	if !waitGone(pid, 5*time.Second) {
		t.Fatalf("sidecar pid %d outlived its killed parent", pid)
	}
}
