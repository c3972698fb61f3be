package devstack

import (
	"context"
	"sync"
	"time"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/topology"
)

// startSchedules runs the topology's schedules in-process (EventBridge in
// AWS): the reconciler and the waiting room's inlet over every event.
func (st *Stack) startSchedules(o Options) {
	ctx, cancel := context.WithCancel(context.Background())
	st.stopSchedules = cancel
	var wg sync.WaitGroup
	// Each tick is one invocation of the scheduled function fn.
	run := func(name, fn string, every time.Duration, tick func(context.Context) error) {
		if every < 0 {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					done := st.calls.timed(fn)
					err := tick(dynamo.WithCaller(ctx, fn))
					done()
					if err != nil && ctx.Err() == nil {
						st.log.Error("scheduled run failed", "schedule", name, "err", err)
					}
				}
			}
		}()
	}
	every := map[string]time.Duration{"reconciler": o.ReconcileEvery, "inlet": o.InletEvery}
	for _, s := range topology.Default().Schedules {
		tick := st.ScheduledTick(s.Function)
		if tick == nil {
			st.log.Warn("schedule not emulated", "schedule", s.Name, "function", s.Function)
			continue
		}
		run(s.Name, s.Function, pick(every[s.Function], s.Every), tick)
	}
	st.schedulesDone = make(chan struct{})
	go func() { wg.Wait(); close(st.schedulesDone) }()
}

// pick is an option's value, or the default when it is zero.
func pick(v, def time.Duration) time.Duration {
	if v == 0 {
		return def
	}
	return v
}

// ScheduledTick is one invocation of a scheduled function, as EventBridge
// makes it (nil for a function no schedule runs locally). Tests and
// measurements that turn the schedules off tick them with it.
func (st *Stack) ScheduledTick(function string) func(context.Context) error {
	switch function {
	case "reconciler":
		return func(ctx context.Context) error {
			_, err := st.App.RunScheduled(ctx)
			return err
		}
	case "inlet":
		return func(ctx context.Context) error {
			_, err := st.App.Waitroom.TickAll(ctx)
			return err
		}
	}
	return nil
}
