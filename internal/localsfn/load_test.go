package localsfn

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	"github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/stararena/stararena/internal/workflow"
)

// TestLoad runs SFNLOCAL_LOAD order executions at once through the whole
// paid path (start, callback, issue) and logs throughput and latencies. Off
// by default: `SFNLOCAL_LOAD=2000 go test -run Load -v ./internal/localsfn/`.
func TestLoad(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("SFNLOCAL_LOAD"))
	if n <= 0 {
		t.Skip("set SFNLOCAL_LOAD=<executions> to run")
	}
	s := sidecar(t)
	const workers = 128
	ctx := context.Background()
	pool := func(f func(i int) error) []time.Duration {
		lat := make([]time.Duration, n)
		var next atomic.Int64
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
					start := time.Now()
					if err := f(i); err != nil {
						t.Error(err)
					}
					lat[i] = time.Since(start)
				}
			}()
		}
		wg.Wait()
		return lat
	}
	run := time.Now().UnixNano()
	ids := make([]string, n)
	arns := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("load-%d-%d", run, i)
	}
	t0 := time.Now()
	startLat := pool(func(i int) error {
		out, err := s.Client().StartExecution(ctx, &sfn.StartExecutionInput{
			StateMachineArn: aws.String(s.StateMachineArn(workflow.Name)), Name: aws.String(ids[i]), Input: aws.String(input(ids[i], 100000)),
		})
		if err == nil {
			arns[i] = aws.ToString(out.ExecutionArn)
		}
		return err
	})
	started := time.Since(t0)
	tokens := make([]string, n)
	for i := range ids {
		tokens[i] = taskToken(t, ids[i])
	}
	waiting := time.Since(t0)
	sendLat := pool(func(i int) error { return sendPaid(s, ids[i], tokens[i]) })
	var notDone atomic.Int64
	pool(func(i int) error {
		if out := awaitDone(t, s, arns[i]); out.Status != types.ExecutionStatusSucceeded {
			notDone.Add(1)
		}
		return nil
	})
	done := time.Since(t0)
	if notDone.Load() > 0 {
		t.Fatalf("%d executions did not succeed", notDone.Load())
	}
	q := func(l []time.Duration, p float64) time.Duration {
		s := slices.Clone(l)
		slices.Sort(s)
		return s[int(p*float64(len(s)-1))].Round(time.Millisecond)
	}
	t.Logf("%d executions, %d clients: all started %v, all waiting for payment %v, all SUCCEEDED %v",
		n, workers, started.Round(time.Millisecond), waiting.Round(time.Millisecond), done.Round(time.Millisecond))
	t.Logf("StartExecution p50 %v p99 %v; SendTaskSuccess p50 %v p99 %v",
		q(startLat, .5), q(startLat, .99), q(sendLat, .5), q(sendLat, .99))
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.Pid())); err == nil {
		for l := range strings.Lines(string(b)) {
			if strings.HasPrefix(l, "VmRSS:") || strings.HasPrefix(l, "VmHWM:") {
				t.Log("sidecar", strings.Join(strings.Fields(l), " "))
			}
		}
	}
}
