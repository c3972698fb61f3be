package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stararena/stararena/internal/auth"
	"github.com/stararena/stararena/internal/catalog"
)

// BenchmarkHoldHTTP measures POST /v1/events/{id}/holds through the local
// stack (HTTP → payload v2 → handler → DynamoDB transaction on the embedded
// server), uncontended: every fan asks for a different seat or GA place.
// It reports holds/s and DynamoDB requests per hold.
//
//	go test -run '^$' -bench HoldHTTP -benchtime 2000x ./internal/handlers
func BenchmarkHoldHTTP(b *testing.B) {
	for _, kind := range []string{"Seat", "GA", "BestAvailable"} {
		b.Run(kind, func(b *testing.B) { benchHold(b, kind) })
	}
}

func benchHold(b *testing.B, kind string) {
	ctx := context.Background()
	st, ev := hotStack(b)
	n := b.N
	if n > 20000 {
		b.Fatalf("at most 20,000 holds per run (one seat each); got -benchtime %dx", n)
	}
	type fan struct{ jwt, body string }
	fans := make([]fan, n)
	for i := range fans {
		acct := fmt.Sprintf("fan-%d", i)
		jwt, _, err := st.Issuer.Issue(acct, auth.RoleFan)
		if err != nil {
			b.Fatal(err)
		}
		adm, _, err := st.App.Gate.Admit(ctx, acct, ev.ID)
		if err != nil {
			b.Fatal(err)
		}
		body := fmt.Sprintf(`{"admissionToken":%q,"seats":[%q]}`, adm, catalog.SeatID("A", strconv.Itoa(1+i/100), 1+i%100))
		switch kind {
		case "GA":
			body = fmt.Sprintf(`{"admissionToken":%q,"section":"GA","quantity":1}`, adm)
		case "BestAvailable":
			body = fmt.Sprintf(`{"admissionToken":%q,"section":"A","quantity":1}`, adm)
		}
		fans[i] = fan{jwt, body}
	}
	url := st.URL() + "/v1/events/" + ev.ID + "/holds"
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next, failed atomic.Int64
	before := st.DynamoOps().Total()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.SetParallelism(16)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			f := fans[next.Add(1)-1]
			req, _ := http.NewRequest("POST", url, bytes.NewReader([]byte(f.body)))
			req.Header.Set("Authorization", "Bearer "+f.jwt)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 201 {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if failed.Load() > 0 && kind != "BestAvailable" {
		b.Fatalf("%d of %d uncontended holds failed", failed.Load(), n)
	}
	b.ReportMetric(float64(n)/elapsed.Seconds(), "holds/s")
	b.ReportMetric(float64(st.DynamoOps().Total()-before)/float64(n), "ddb-req/hold")
	b.ReportMetric(float64(failed.Load()), "failed")
}
