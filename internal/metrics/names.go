// Package metrics names every CloudWatch metric StarArena emits (as
// Embedded Metric Format log lines) and that the CDK app's alarms and
// dashboard read. One list, so a renamed metric cannot leave an alarm
// watching nothing: infra tests check that every metric an alarm or a
// widget names is declared here.
package metrics

// Namespace is the CloudWatch namespace of every metric.
const Namespace = "StarArena"

// Metric names. Units are in the comments; dimensions in Dimensions.
const (
	HoldLatency   = "HoldLatency"   // Milliseconds, per hold request that reached the purchase path
	Holds         = "Holds"         // Count of holds made
	HoldConflicts = "HoldConflicts" // Count of 409s: seats taken, sold out (contention, not failure)
	HoldErrors    = "HoldErrors"    // Count of 5xx answers on the purchase path
	HoldThrottles = "HoldThrottles" // Count of DynamoDB throttles seen by holds

	Admissions        = "Admissions"        // Count of admission tokens issued
	AdmissionsRefused = "AdmissionsRefused" // Count of admission requests refused (not served yet, sold out, limited)

	QueueJoinsPlaced = "QueueJoinsPlaced" // Count of new places the assigner wrote
	QueueWaiting     = "QueueWaiting"     // Count: positions given out but not yet served (the queue's depth), per inlet tick
	QueueServing     = "QueueServing"     // Count: the serving position, per inlet tick
	QueueAdmitRate   = "QueueAdmitRate"   // Count/Minute: the effective admission rate after health backoff

	WebhookOutcomes  = "WebhookOutcomes"  // Count, dimension Outcome
	WorkflowOutcomes = "WorkflowOutcomes" // Count, dimension Outcome (ISSUED, RELEASED, ISSUE_FAILED, FAILED)

	ReconcileFindings   = "ReconcileFindings"   // Count, dimension Kind
	OrdersIssueFailed   = "OrdersIssueFailed"   // Count of ISSUE_FAILED orders the reconciler saw (gauge per run)
	OrdersRefundPending = "OrdersRefundPending" // Count of REFUND_PENDING orders past their deadline (gauge per run)

	RateLimitStoreErrors = "RateLimitStoreErrors" // Count of limiter checks whose counter could not be reached, dimension Kind (the limiter's name)
)

// Dimension names.
const (
	DimFunction = "Function"
	DimOutcome  = "Outcome"
	DimKind     = "Kind"
)

// Names lists every metric name, for the infra test that matches alarms
// and dashboard widgets against it.
func Names() []string {
	return []string{
		HoldLatency, Holds, HoldConflicts, HoldErrors, HoldThrottles,
		Admissions, AdmissionsRefused,
		QueueJoinsPlaced, QueueWaiting, QueueServing, QueueAdmitRate,
		WebhookOutcomes, WorkflowOutcomes,
		ReconcileFindings, OrdersIssueFailed, OrdersRefundPending,
		RateLimitStoreErrors,
	}
}
