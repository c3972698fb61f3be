package rush

import (
	"container/heap"
	"sync"
	"time"
)

// pool runs the fans' steps at their due times with a fixed number of
// workers: the simulation's client side. When every worker is busy, steps
// start late; the lag is recorded so a report shows when the client, not
// the system, set the pace.
type pool struct {
	mu      sync.Mutex
	tasks   taskHeap
	seq     int64
	wake    chan struct{}
	work    chan *task
	stopped bool
	done    chan struct{}
	wg      sync.WaitGroup

	lagMu sync.Mutex
	lags  []time.Duration
}

type task struct {
	at  time.Time
	seq int64
	fn  func()
}

type taskHeap []*task

func (h taskHeap) Len() int { return len(h) }
func (h taskHeap) Less(i, j int) bool {
	if !h[i].at.Equal(h[j].at) {
		return h[i].at.Before(h[j].at)
	}
	return h[i].seq < h[j].seq
}
func (h taskHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *taskHeap) Push(x any)   { *h = append(*h, x.(*task)) }
func (h *taskHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return t
}

func newPool(workers int) *pool {
	p := &pool{wake: make(chan struct{}, 1), work: make(chan *task), done: make(chan struct{})}
	for range workers {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for t := range p.work {
				lag := time.Since(t.at)
				p.lagMu.Lock()
				p.lags = append(p.lags, lag)
				p.lagMu.Unlock()
				t.fn()
			}
		}()
	}
	go p.dispatch()
	return p
}

// at schedules fn at t (now or in the past: as soon as a worker is free).
func (p *pool) at(t time.Time, fn func()) {
	p.mu.Lock()
	if p.stopped {
		p.mu.Unlock()
		return
	}
	p.seq++
	heap.Push(&p.tasks, &task{at: t, seq: p.seq, fn: fn})
	first := p.tasks[0].seq == p.seq
	p.mu.Unlock()
	if first {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// after schedules fn d from now.
func (p *pool) after(d time.Duration, fn func()) { p.at(time.Now().Add(d), fn) }

func (p *pool) dispatch() {
	defer close(p.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		p.mu.Lock()
		if p.stopped {
			p.mu.Unlock()
			close(p.work)
			return
		}
		var next *task
		wait := time.Hour
		if len(p.tasks) > 0 {
			if d := time.Until(p.tasks[0].at); d <= 0 {
				next = heap.Pop(&p.tasks).(*task)
			} else {
				wait = d
			}
		}
		p.mu.Unlock()
		if next != nil {
			p.work <- next // blocks while every worker is busy: that is the lag
			continue
		}
		timer.Reset(wait)
		select {
		case <-timer.C:
		case <-p.wake:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
	}
}

// stop drops what is still scheduled and waits for running steps to end.
func (p *pool) stop() {
	p.mu.Lock()
	p.stopped = true
	p.tasks = nil
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.done
	p.wg.Wait()
}

func (p *pool) lagPercentiles() percentiles {
	p.lagMu.Lock()
	defer p.lagMu.Unlock()
	return percentilesOf(p.lags)
}
