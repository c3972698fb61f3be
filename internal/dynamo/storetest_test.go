package dynamo_test

import (
	"testing"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/dynamo/storetest"
	"github.com/stararena/stararena/internal/testenv"
)

// TestStoresConform runs every port's conformance suite against the
// embedded DynamoDB, or the server AWS_ENDPOINT_URL_DYNAMODB names; each
// subtest gets a fresh table.
func TestStoresConform(t *testing.T) {
	storetest.RunAll(t, func(t *testing.T) storetest.Stores {
		db, table := testenv.DynamoDB(t)
		st := dynamo.NewStores(db, table, nil)
		return storetest.Stores{
			Catalog: st.Catalog, Inventory: st.Inventory, Orders: st.Orders, Tickets: st.Tickets,
			Waitroom: st.Waitroom, Health: st.Health, RateLimit: st.RateLimit, Reports: st.Reports,
			ProviderEvents: st.ProviderEvents, Reconcile: st.Reconcile,
		}
	})
}
