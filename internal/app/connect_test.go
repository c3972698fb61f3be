package app_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stararena/stararena/internal/app"
	"github.com/stararena/stararena/internal/config"
	"github.com/stararena/stararena/internal/mail"
	"github.com/stararena/stararena/internal/orders"
)

// TestAConfiguredPartWithoutItsConnectorStopsStartUp: a function whose
// configuration names a state machine, a mail queue, a sender or a CAPTCHA
// set but whose main did not link the part fails at start-up with the
// setting's name, rather than drop workflows or mail at run time.
func TestAConfiguredPartWithoutItsConnectorStopsStartUp(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for setting, value := range map[string]string{
		"STATE_MACHINE_ARN":  "arn:aws:states:us-east-1:123456789012:stateMachine:orders",
		"MAIL_QUEUE_URL":     "https://sqs.us-east-1.amazonaws.com/123456789012/mail",
		"MAIL_FROM":          "tickets@example.test",
		"CAPTCHA_EVENTS_ARN": "arn:aws:wafv2:us-east-1:123456789012:global/regexpatternset/events/abc",
	} {
		t.Run(setting, func(t *testing.T) {
			cfg, err := config.FromEnv(func(k string) string {
				if k == setting {
					return value
				}
				return ""
			})
			if err != nil {
				t.Fatal(err)
			}
			_, err = app.New(context.Background(), cfg, app.Options{Logger: log})
			if err == nil || !strings.Contains(err.Error(), setting) {
				t.Fatalf("New without the connector: %v, want an error naming %s", err, setting)
			}
		})
	}
}

// TestConnectorsAreCalledWithTheConfiguration: with the connector given,
// the same settings build the part through it.
func TestConnectorsAreCalledWithTheConfiguration(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"STATE_MACHINE_ARN": "arn:sm", "MAIL_QUEUE_URL": "https://q"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	var gotFlow, gotQueue string
	a, err := app.New(context.Background(), cfg, app.Options{Logger: log, Connect: app.Connectors{
		Flow: func(_ context.Context, c config.Config) (orders.Workflow, error) {
			gotFlow = c.StateMachineArn
			return nil, nil
		},
		MailQueue: func(_ context.Context, c config.Config) (mail.Queue, error) {
			gotQueue = c.MailQueueURL
			return nopQueue{}, nil
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if gotFlow != "arn:sm" || gotQueue != "https://q" || a.MailQueue == nil {
		t.Fatalf("flow connector got %q, queue connector got %q, queue %v", gotFlow, gotQueue, a.MailQueue)
	}
}

type nopQueue struct{}

func (nopQueue) Enqueue(context.Context, mail.Request) error { return nil }
