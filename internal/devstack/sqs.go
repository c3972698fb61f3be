package devstack

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/stararena/stararena/internal/apperr"
	"github.com/stararena/stararena/internal/httpapi"
	"github.com/stararena/stararena/internal/limits"
	"github.com/stararena/stararena/internal/localsqs"
	"github.com/stararena/stararena/internal/ratelimit"
	"github.com/stararena/stararena/internal/topology"
)

// Join limits per account, the same numbers as the WAF rate-based rule on
// the join route in AWS (keyed by the Authorization header there).
const (
	joinLimit       = limits.JoinsPerMinute
	joinLimitWindow = limits.RateWindow
)

// startQueues creates the topology's queues with their consumers, as SQS
// and Lambda event source mappings would run them.
func (st *Stack) startQueues(tp topology.Topology, o Options) error {
	st.queues = map[string]*localsqs.Queue{}
	for _, q := range tp.Queues {
		var h localsqs.Handler
		switch q.Consumer {
		case "assigner":
			h = st.calls.sqs(q.Consumer, st.App.Assigner())
		case "mailer":
			h = st.calls.sqs(q.Consumer, st.App.MailerHandler())
		default:
			return fmt.Errorf("queue %s: consumer %s is not emulated", q.Name, q.Consumer)
		}
		scale := o.QueueTimeScale
		if scale == 0 {
			scale = o.TimeScale
		}
		opts := localsqs.Options{Name: q.Name, BatchSize: q.BatchSize, MaxBatchingWindow: q.MaxBatchingWindow,
			VisibilityTimeout: q.VisibilityTimeout, MaxReceiveCount: q.MaxReceiveCount, TimeScale: scale, Logger: o.Logger,
			Faults: o.QueueFaults}
		if err := opts.Validate(); err != nil {
			return fmt.Errorf("queue %s: %w", q.Name, err)
		}
		lq := localsqs.New(opts, h)
		lq.Start(context.Background())
		st.queues[q.Name] = lq
	}
	if q := st.queues[topology.MailQueue]; q != nil {
		st.App.MailQueue = localMailQueue{q}
	}
	return nil
}

// Queue returns a running queue by its topology name.
func (st *Stack) Queue(name string) *localsqs.Queue { return st.queues[name] }

// sqsRoute serves an SQS-SendMessage route as API Gateway would: run the
// authorizer, render the message body mapping, send, and answer with SQS's
// reply under the route's status.
func (st *Stack) sqsRoute(route topology.Route, q *localsqs.Queue, verify func(string) (map[string]string, error)) http.Handler {
	// The WAF counts in its own memory; so does its stand-in.
	limit := &ratelimit.Limiter{Name: "joins", Limit: joinLimit, Window: joinLimitWindow, Store: ratelimit.NewMemory()}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, http.MaxBytesReader(w, r.Body, route.MaxBodyBytes)); err != nil {
			httpapi.WriteError(w, apperr.New(apperr.TooLarge, "request body over %d bytes", route.MaxBodyBytes))
			return
		}
		claims, ok := authorize(w, r, verify)
		if !ok {
			return
		}
		if err := limit.Allow(r.Context(), claims["sub"]); err != nil {
			// The WAF's answer: no details, Retry-After: 60.
			httpapi.WriteError(w, apperr.Wrap(err, apperr.RateLimited, "too many joins: your place is kept, no need to join again"))
			return
		}
		vars := map[string]string{"context.authorizer.claims.sub": claims["sub"],
			"context.requestTimeEpoch": strconv.FormatInt(time.Now().UnixMilli(), 10)}
		for _, name := range pathParams(route.Path) {
			vars["request.path."+name] = r.PathValue(name)
		}
		for name, vs := range r.Header {
			vars["request.header."+strings.ToLower(name)] = strings.Join(vs, ",")
		}
		body := RenderMapping(route.MessageBody, vars)
		var attrs map[string]string
		for name, tmpl := range route.MessageAttributes {
			if attrs == nil {
				attrs = map[string]string{}
			}
			attrs[name] = RenderMapping(tmpl, vars)
		}
		id, err := q.Send(body, attrs)
		if errors.Is(err, localsqs.ErrInvalidMessage) {
			// SQS answers 400 to a message it can never take (a path
			// parameter with control characters): retrying cannot help.
			httpapi.WriteError(w, apperr.Wrap(err, apperr.Invalid, "this request cannot be queued"))
			return
		}
		if err != nil {
			httpapi.WriteError(w, apperr.Wrap(err, apperr.Unavailable, "the queue did not take the join; try again"))
			return
		}
		sum := md5.Sum([]byte(body))
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		status := route.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
		_, _ = fmt.Fprintf(w, `{"MD5OfMessageBody":%q,"MessageId":%q}`, hex.EncodeToString(sum[:]), id)
	})
}

// RenderMapping substitutes ${name} as API Gateway's parameter mapping
// does (exported so a test can send the integration's exact message to a
// real SQS). JWT claims arrive as JSON text (a string claim keeps its quotes),
// as they do in AWS; path parameters and context values are raw.
func RenderMapping(tmpl string, vars map[string]string) string {
	var b strings.Builder
	for {
		i := strings.Index(tmpl, "${")
		if i < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			b.WriteString(tmpl)
			return b.String()
		}
		b.WriteString(tmpl[:i])
		name := tmpl[i+2 : i+j]
		v := vars[name]
		if strings.HasPrefix(name, "context.authorizer.claims.") {
			q, _ := json.Marshal(v)
			v = string(q)
		}
		b.WriteString(v)
		tmpl = tmpl[i+j+1:]
	}
}
