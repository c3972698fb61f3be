package stack

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsstepfunctions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/metrics"
	"github.com/stararena/stararena/internal/topology"
)

// Emitters names the function that emits each StarArena metric. The
// metrics package tags every value with the emitting function's topology
// name (dimension Function), and a CloudWatch alarm matches one exact
// dimension set, so alarms and graphs name the emitter.
var Emitters = map[string]string{
	metrics.HoldLatency:         "holds",
	metrics.Holds:               "holds",
	metrics.HoldConflicts:       "holds",
	metrics.HoldErrors:          "holds",
	metrics.HoldThrottles:       "holds",
	metrics.Admissions:          "admission",
	metrics.AdmissionsRefused:   "admission",
	metrics.QueueJoinsPlaced:    "assigner",
	metrics.QueueWaiting:        "inlet",
	metrics.QueueServing:        "inlet",
	metrics.QueueAdmitRate:      "inlet",
	metrics.ReconcileFindings:   "reconciler",
	metrics.OrdersIssueFailed:   "reconciler",
	metrics.OrdersRefundPending: "reconciler",
}

type observed struct {
	topo         topology.Topology
	settings     Settings
	fns          map[string]awslambda.Function
	queues       map[string]*queuePair
	machines     map[string]awsstepfunctions.StateMachine
	table        awsdynamodb.Table
	api          awsapigatewayv2.HttpApi
	distribution awscloudfront.Distribution // nil without the edge
	scheduleDLQ  awssqs.Queue               // nil without schedules
	streamDLQs   map[string]awssqs.Queue    // by consumer: each stream's dead letters
}

// custom is a StarArena metric from its emitter.
func custom(name, stat, label string) awscloudwatch.Metric {
	fn, ok := Emitters[name]
	if !ok {
		panic(fmt.Sprintf("stack: no emitter declared for metric %s", name))
	}
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:     jsii.String(metrics.Namespace),
		MetricName:    jsii.String(name),
		DimensionsMap: &map[string]*string{metrics.DimFunction: jsii.String(fn)},
		Statistic:     jsii.String(stat),
		Period:        awscdk.Duration_Minutes(jsii.Number(1)),
		Label:         jsii.String(label),
	})
}

// search graphs every series of a metric that carries one more dimension
// (an outcome, a finding kind) whose values the code decides.
func search(name, dim, stat, label string) awscloudwatch.MathExpression {
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(fmt.Sprintf(`SEARCH('{%s,%s,%s} MetricName="%s"', '%s', 60)`,
			metrics.Namespace, metrics.DimFunction, dim, name, stat)),
		UsingMetrics: &map[string]awscloudwatch.IMetric{},
		Label:        jsii.String(label),
		Period:       awscdk.Duration_Minutes(jsii.Number(1)),
	})
}

// newObservability declares the alarms (all notify one SNS topic) and the
// sale dashboard.
//
// Alarms: every dead-letter queue (each declared queue's, the schedules')
// holding a message; the join queue's
// oldest message older than a minute; ISSUE_FAILED and REFUND_PENDING
// orders (the reconciler's gauges); order workflow executions failed, timed
// out or aborted; any Lambda throttle; any DynamoDB throttle on the table
// or an index; the purchase path's hold p99 over Settings.HoldP99; API 5xx.
func newObservability(scope constructs.Construct, o observed) {
	topic := awssns.NewTopic(scope, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("StarArena alarms"),
		EnforceSSL:  jsii.Bool(true),
	})
	if o.settings.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(o.settings.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	alarm := func(id, desc string, m awscloudwatch.IMetric, threshold float64, periods int) awscloudwatch.Alarm {
		a := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
			AlarmDescription:   jsii.String(desc),
			Metric:             m,
			Threshold:          jsii.Number(threshold),
			EvaluationPeriods:  jsii.Number(float64(periods)),
			DatapointsToAlarm:  jsii.Number(float64(periods)),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
		return a
	}
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	five := awscdk.Duration_Minutes(jsii.Number(5))

	for _, tq := range o.topo.Queues {
		name, q := tq.Name, o.queues[tq.Name]
		alarm(pascal(name)+"DeadLetterAlarm", fmt.Sprintf("The %s dead-letter queue holds messages that failed %d deliveries to %s. Inspect, fix, redrive.", name, tq.MaxReceiveCount, tq.Consumer),
			q.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute}), 1, 1)
		alarm(pascal(name)+"BacklogAlarm", fmt.Sprintf("The oldest %s message is over a minute old: the consumer is falling behind.", name),
			q.Queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute}), 60, 3)
	}
	for _, sm := range o.topo.Streams {
		alarm(pascal(sm.Consumer)+"StreamDeadLetterAlarm", fmt.Sprintf("%s gave up on stream records after %d retries: availability may have drifted until its repair rebuild. Inspect the records' positions, fix, rebuild.", sm.Consumer, sm.MaxRetries),
			o.streamDLQs[sm.Consumer].MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute}), 1, 1)
		alarm(pascal(sm.Consumer)+"IteratorAgeAlarm", fmt.Sprintf("%s is over a minute behind the table's changes: availability is staler than its freshness.", sm.Consumer),
			o.fns[sm.Consumer].Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute}), 60000, 3)
	}
	if o.scheduleDLQ != nil {
		alarm("SchedulesDeadLetterAlarm", "EventBridge could not deliver a schedule tick (inlet or reconciler) after retries: that tick was lost. Check the functions' throttles and errors.",
			o.scheduleDLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute}), 1, 1)
	}
	issueFailed := custom(metrics.OrdersIssueFailed, "Maximum", "ISSUE_FAILED orders")
	refundPending := custom(metrics.OrdersRefundPending, "Maximum", "REFUND_PENDING orders past deadline")
	alarm("OrdersIssueFailedAlarm", "Paid orders whose tickets could not be issued (ISSUE_FAILED) after the reconciler's retries: fans paid and hold no ticket.",
		issueFailed.With(&awscloudwatch.MetricOptions{Period: five}), 1, 1)
	alarm("OrdersRefundPendingAlarm", "Refunds not completed by their deadline (REFUND_PENDING): money taken for seats that are gone.",
		refundPending.With(&awscloudwatch.MetricOptions{Period: five}), 1, 1)
	holdP99 := custom(metrics.HoldLatency, "p99", "hold p99 (ms)")
	alarm("HoldLatencyAlarm", fmt.Sprintf("Hold p99 over %s for 3 minutes: the purchase path is slow (the inlet is already backing off).", o.settings.HoldP99),
		holdP99, float64(o.settings.HoldP99.Milliseconds()), 3)

	for _, name := range sortedKeys(o.machines) {
		sm := o.machines[name]
		opts := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: five}
		alarm(pascal(name)+"WorkflowFailedAlarm", "Order workflow executions failed, timed out or were aborted: orders the reconciler must finish.",
			awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
				Expression: jsii.String("failed + timedOut + aborted"),
				UsingMetrics: &map[string]awscloudwatch.IMetric{
					"failed": sm.MetricFailed(opts), "timedOut": sm.MetricTimedOut(opts), "aborted": sm.MetricAborted(opts),
				},
				Label: jsii.String("executions failed"), Period: five,
			}), 1, 1)
	}
	for _, name := range sortedKeys(o.fns) {
		alarm(pascal(name)+"ThrottleAlarm", fmt.Sprintf("Lambda throttled %s: concurrency (reserved or account) is exhausted.", name),
			o.fns[name].MetricThrottles(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}), 1, 1)
	}
	ddb := ddbThrottles(o.table, o.topo)
	alarm("TableThrottleAlarm", "DynamoDB throttled reads or writes on the table or an index: a hot partition or a sale above the warm throughput.", ddb, 1, 1)
	alarm("Api5xxAlarm", "The HTTP API answered 5xx (functions failing or timing out, or SQS refusing joins).",
		o.api.MetricServerError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}), 10, 3)

	newDashboard(scope, o, holdP99, issueFailed, refundPending, ddb)
	output(scope, "AlarmTopicArn", topic.TopicArn())
}

// ddbThrottles sums read and write throttle events of the table and its
// indexes.
func ddbThrottles(table awsdynamodb.Table, topo topology.Topology) awscloudwatch.MathExpression {
	using := map[string]awscloudwatch.IMetric{}
	expr := ""
	add := func(id string, m awscloudwatch.IMetric) {
		using[id] = m
		if expr != "" {
			expr += " + "
		}
		expr += id
	}
	dims := func(index string) *map[string]*string {
		d := map[string]*string{"TableName": table.TableName()}
		if index != "" {
			d["GlobalSecondaryIndexName"] = jsii.String(index)
		}
		return &d
	}
	metric := func(name, index string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/DynamoDB"), MetricName: jsii.String(name), DimensionsMap: dims(index),
			Statistic: jsii.String("Sum"), Period: awscdk.Duration_Minutes(jsii.Number(1)),
		})
	}
	add("r", metric("ReadThrottleEvents", ""))
	add("w", metric("WriteThrottleEvents", ""))
	for _, t := range topo.Tables {
		if t.LogicalName != topology.MainTable {
			continue
		}
		for i, ix := range t.Indexes {
			add(fmt.Sprintf("r%d", i), metric("ReadThrottleEvents", ix.Name))
			add(fmt.Sprintf("w%d", i), metric("WriteThrottleEvents", ix.Name))
		}
	}
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String(expr), UsingMetrics: &using, Label: jsii.String("DynamoDB throttle events"),
		Period: awscdk.Duration_Minutes(jsii.Number(1)),
	})
}

// newDashboard is the sale-night dashboard: the waiting room, the purchase
// path, the money path, then the platform underneath.
func newDashboard(scope constructs.Construct, o observed, holdP99, issueFailed, refundPending, ddb awscloudwatch.IMetric) {
	graph := func(title string, width float64, left []awscloudwatch.IMetric, right []awscloudwatch.IMetric) awscloudwatch.GraphWidget {
		p := &awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Width: jsii.Number(width), Height: jsii.Number(6), Left: &left}
		if len(right) > 0 {
			p.Right = &right
		}
		return awscloudwatch.NewGraphWidget(p)
	}
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	var joinsQueue []awscloudwatch.IMetric
	for _, name := range sortedKeys(o.queues) {
		q := o.queues[name]
		joinsQueue = append(joinsQueue,
			q.Queue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute, Label: jsii.String(name + " backlog")}),
			q.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Statistic: jsii.String("Maximum"), Period: minute, Label: jsii.String(name + " dead letters")}))
	}
	var reserved []awscloudwatch.IMetric
	for _, f := range o.topo.Functions {
		if f.ReservedConcurrency > 0 {
			reserved = append(reserved, o.fns[f.Name].Metric(jsii.String("ConcurrentExecutions"), &awscloudwatch.MetricOptions{
				Statistic: jsii.String("Maximum"), Period: minute, Label: jsii.String(fmt.Sprintf("%s (reserved %d)", f.Name, f.ReservedConcurrency)),
			}))
		}
	}
	rows := [][]awscloudwatch.IWidget{
		{
			awscloudwatch.NewTextWidget(&awscloudwatch.TextWidgetProps{Width: jsii.Number(24), Height: jsii.Number(1),
				Markdown: jsii.String("## Waiting room → purchase path → money path (namespace " + metrics.Namespace + ")")}),
		},
		{
			graph("Joins placed / waiting / serving", 8, []awscloudwatch.IMetric{
				custom(metrics.QueueJoinsPlaced, "Sum", "joins placed"),
			}, []awscloudwatch.IMetric{
				custom(metrics.QueueWaiting, "Maximum", "waiting"), custom(metrics.QueueServing, "Maximum", "serving position"),
			}),
			graph("Admission rate (after health backoff)", 8, []awscloudwatch.IMetric{
				custom(metrics.QueueAdmitRate, "Average", "admitted per minute"),
			}, []awscloudwatch.IMetric{
				custom(metrics.Admissions, "Sum", "admissions"), custom(metrics.AdmissionsRefused, "Sum", "refused"),
			}),
			graph("Join queue", 8, joinsQueue, nil),
		},
		{
			graph("Holds", 8, []awscloudwatch.IMetric{
				custom(metrics.Holds, "Sum", "holds"), custom(metrics.HoldConflicts, "Sum", "conflicts (409)"),
				custom(metrics.HoldErrors, "Sum", "errors (5xx)"), custom(metrics.HoldThrottles, "Sum", "DynamoDB throttles"),
			}, nil),
			graph("Hold latency", 8, []awscloudwatch.IMetric{
				custom(metrics.HoldLatency, "p50", "p50 (ms)"), holdP99,
			}, nil),
			graph("Concurrency of reserved functions", 8, reserved, nil),
		},
		{
			graph("Webhooks by outcome", 8, []awscloudwatch.IMetric{search(metrics.WebhookOutcomes, metrics.DimOutcome, "Sum", "")}, nil),
			graph("Order workflow tasks by outcome", 8, []awscloudwatch.IMetric{search(metrics.WorkflowOutcomes, metrics.DimOutcome, "Sum", "")}, nil),
			graph("Reconciler", 8, []awscloudwatch.IMetric{issueFailed, refundPending},
				[]awscloudwatch.IMetric{search(metrics.ReconcileFindings, metrics.DimKind, "Sum", "")}),
		},
		{
			// Holds refuse while their limiter's counter is unreachable;
			// admission and payments let calls through unlimited.
			graph("Rate-limit counters unreachable, by limiter", 8,
				[]awscloudwatch.IMetric{search(metrics.RateLimitStoreErrors, metrics.DimKind, "Sum", "")}, nil),
		},
	}
	var sfn []awscloudwatch.IMetric
	for _, name := range sortedKeys(o.machines) {
		sm := o.machines[name]
		opts := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}
		sfn = append(sfn, sm.MetricStarted(opts), sm.MetricSucceeded(opts), sm.MetricFailed(opts), sm.MetricTimedOut(opts))
	}
	var throttles, errs []awscloudwatch.IMetric
	for _, name := range sortedKeys(o.fns) {
		opts := &awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute, Label: jsii.String(name)}
		throttles = append(throttles, o.fns[name].MetricThrottles(opts))
		errs = append(errs, o.fns[name].MetricErrors(opts))
	}
	platform := []awscloudwatch.IWidget{
		graph("Order workflow executions", 6, sfn, nil),
		graph("API requests / 4xx / 5xx", 6, []awscloudwatch.IMetric{
			o.api.MetricCount(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}),
		}, []awscloudwatch.IMetric{
			o.api.MetricClientError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}),
			o.api.MetricServerError(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}),
		}),
		graph("DynamoDB capacity and throttles", 6, []awscloudwatch.IMetric{
			o.table.MetricConsumedWriteCapacityUnits(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}),
			o.table.MetricConsumedReadCapacityUnits(&awscloudwatch.MetricOptions{Statistic: jsii.String("Sum"), Period: minute}),
		}, []awscloudwatch.IMetric{ddb}),
	}
	if o.distribution != nil {
		cf := func(name, stat string) awscloudwatch.IMetric {
			return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace: jsii.String("AWS/CloudFront"), MetricName: jsii.String(name), Statistic: jsii.String(stat),
				DimensionsMap: &map[string]*string{"DistributionId": o.distribution.DistributionId(), "Region": jsii.String("Global")},
				Region:        jsii.String(EdgeRegion), // CloudFront publishes its metrics there
				Period:        minute,
			})
		}
		platform = append(platform, graph("CloudFront", 6, []awscloudwatch.IMetric{cf("Requests", "Sum")},
			[]awscloudwatch.IMetric{cf("5xxErrorRate", "Average"), cf("4xxErrorRate", "Average")}))
	}
	rows = append(rows, platform, []awscloudwatch.IWidget{
		graph("Lambda throttles by function", 12, throttles, nil),
		graph("Lambda errors by function", 12, errs, nil),
	})
	widgets := make([]*[]awscloudwatch.IWidget, len(rows))
	for i := range rows {
		widgets[i] = &rows[i]
	}
	dash := awscloudwatch.NewDashboard(scope, jsii.String("SaleDashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(3)),
		Widgets:         &widgets,
	})
	output(scope, "DashboardName", dash.DashboardName())
}
