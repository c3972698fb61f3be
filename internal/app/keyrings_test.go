package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/testenv"
	"github.com/stararena/stararena/internal/testenv/fixture"
)

// TestALambdaReadsNoKeyringUntilItUsesOne: a Lambda function starts with
// no keyring secret named (a function that does not declare a keyring
// gets no ARN and no right to read it); a keyring is read only where a
// token or a code is signed or verified, and there a missing ARN is the
// error.
func TestALambdaReadsNoKeyringUntilItUsesOne(t *testing.T) {
	db, table := testenv.DynamoDB(t)
	cfg := fixture.Config(t)
	cfg.InLambda, cfg.Function, cfg.TableName = true, "catalog", table
	a, err := app.New(context.Background(), cfg, app.Options{DB: db, MetricsOut: io.Discard, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("a function without keyring secrets did not start: %v", err)
	}
	if _, _, err := a.Tokens.Issue("fan-1", "ev-1"); err == nil || !strings.Contains(err.Error(), "ADMISSION_KEYS_SECRET_ARN") {
		t.Errorf("signing an admission token without its keyring: %v, want the missing ADMISSION_KEYS_SECRET_ARN", err)
	}
	if _, err := a.Tickets.PublicKeys(); err == nil || !strings.Contains(err.Error(), "TICKET_KEYS_SECRET_ARN") {
		t.Errorf("reading the ticket keys without their keyring: %v, want the missing TICKET_KEYS_SECRET_ARN", err)
	}
}
