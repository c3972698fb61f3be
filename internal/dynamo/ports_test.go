package dynamo_test

import (
	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/handlers"
)

// The organizer report's port belongs to the HTTP layer; asserting it here,
// in a test, keeps the DynamoDB adapter from depending on the handlers.
var _ handlers.ReportStore = (*dynamo.ReportStore)(nil)
