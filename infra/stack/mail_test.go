package stack

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/topology"
)

// mailQueue is the default topology's mail queue.
func mailQueue(t *testing.T) topology.Queue {
	t.Helper()
	for _, q := range topology.Default().Queues {
		if q.Name == topology.MailQueue {
			return q
		}
	}
	t.Fatal("the topology declares no mail queue")
	return topology.Queue{}
}

// The mail queue redrives to its dead-letter queue after the declared
// receives and feeds the mailer in batches with partial failures; the
// mailer is an arm64 function like the others.
func TestMailQueueFeedsTheMailerWithADeadLetterQueue(t *testing.T) {
	q := mailQueue(t)
	expect(t, func() {
		deployed.HasResourceProperties(jsii.String("AWS::SQS::Queue"), map[string]any{
			"VisibilityTimeout": int(q.VisibilityTimeout / time.Second),
			"RedrivePolicy": map[string]any{"maxReceiveCount": q.MaxReceiveCount,
				"deadLetterTargetArn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^MailDeadLetterQueue")), "Arn"}}},
		})
	})
	expect(t, func() {
		deployed.HasResourceProperties(jsii.String("AWS::Lambda::EventSourceMapping"), map[string]any{
			"EventSourceArn":        map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^MailQueue")), "Arn"}},
			"FunctionName":          map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^MailerFunction"))},
			"BatchSize":             q.BatchSize,
			"FunctionResponseTypes": []any{"ReportBatchItemFailures"},
		})
	})
	if fn := functionProps(t, "mailer"); fn["Architectures"] == nil {
		t.Errorf("mailer: %v", fn)
	}
}

// SES: the domain identity, signed with DKIM, sends with a configuration
// set that suppresses bounces and complaints and requires TLS.
func TestMailDomainIdentityAndConfigurationSet(t *testing.T) {
	expect(t, func() {
		deployed.ResourceCountIs(jsii.String("AWS::SES::EmailIdentity"), jsii.Number(1))
		deployed.HasResourceProperties(jsii.String("AWS::SES::EmailIdentity"), map[string]any{
			"EmailIdentity":              testSettings.MailDomain,
			"ConfigurationSetAttributes": map[string]any{"ConfigurationSetName": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^MailConfigurationSet"))}},
		})
		deployed.ResourceCountIs(jsii.String("AWS::SES::ConfigurationSet"), jsii.Number(1))
		deployed.HasResourceProperties(jsii.String("AWS::SES::ConfigurationSet"), map[string]any{
			"SuppressionOptions": map[string]any{"SuppressedReasons": []any{"BOUNCE", "COMPLAINT"}},
			"DeliveryOptions":    map[string]any{"TlsPolicy": "REQUIRE"},
		})
	})
	env := functionEnv(t, "mailer")
	if env["MAIL_FROM"] != MailSender+"@"+testSettings.MailDomain || env["MAIL_CONFIGURATION_SET"] == nil || env["SITE_URL"] == nil {
		t.Errorf("mailer environment %v: want MAIL_FROM, MAIL_CONFIGURATION_SET and SITE_URL", env)
	}
}

// Only the mailer may send email, and only from the stack's identity with
// its configuration set; only the functions that issue tickets may put
// causes on the mail queue, and only there.
func TestOnlyTheMailerSendsEmailAndOnlyTheIssuersQueueIt(t *testing.T) {
	policies := FunctionStatements(deployed)
	streamConsumer := map[string]bool{}
	for _, sm := range topology.Default().Streams {
		streamConsumer[sm.Consumer] = true
	}
	for _, f := range topology.Default().Functions {
		got := allowed(policies[f.Name])
		var ses, sqsSend []string
		for a, sts := range got {
			for _, st := range sts {
				for _, r := range st.Resources {
					switch {
					case strings.HasPrefix(a, "ses:"):
						ses = append(ses, a+" "+resourceString(r))
					case a == "sqs:SendMessage" && streamConsumer[f.Name] && strings.Contains(resourceString(r), pascal(f.Name)+"StreamDeadLetterQueue"):
						// Its stream's on-failure destination (stream_test.go).
					case a == "sqs:SendMessage":
						sqsSend = append(sqsSend, resourceString(r))
					}
				}
			}
		}
		slices.Sort(ses)
		if f.Access.Email {
			if len(ses) != 2 || !strings.Contains(ses[0], "configuration-set") && !strings.Contains(ses[1], "configuration-set") ||
				!slices.ContainsFunc(ses, func(s string) bool { return strings.Contains(s, "MailIdentity") }) {
				t.Errorf("%s: SES grants %v, want ses:SendEmail on the mail identity and configuration set only", f.Name, ses)
			}
			for _, s := range ses {
				if !strings.HasPrefix(s, "ses:SendEmail ") {
					t.Errorf("%s: %s, want ses:SendEmail only", f.Name, s)
				}
			}
		} else if len(ses) > 0 {
			t.Errorf("%s may send email (%v) without declaring it", f.Name, ses)
		}
		want := len(f.Access.SendTo) > 0
		if want != (len(sqsSend) > 0) {
			t.Errorf("%s: sqs:SendMessage on %v, declared %v", f.Name, sqsSend, f.Access.SendTo)
		}
		for _, r := range sqsSend {
			if !strings.Contains(r, "MailQueue") || strings.Contains(r, "DeadLetter") {
				t.Errorf("%s: sqs:SendMessage on %s, want the mail queue only", f.Name, r)
			}
		}
		if env := functionEnv(t, f.Name); (env[QueueURLEnv(topology.MailQueue)] != nil) != want {
			t.Errorf("%s: MAIL_QUEUE_URL set=%v, declared %v", f.Name, env[QueueURLEnv(topology.MailQueue)] != nil, f.Access.SendTo)
		}
	}
}
