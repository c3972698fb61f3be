package stack

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/devstack"
	appfixture "github.com/stararena/stararena/internal/testenv/fixture"
	"github.com/stararena/stararena/internal/topology"
)

// TestLocalStackServesWhatTheCDKAppDeploys: GIVEN the synthesized template
// and a running local stack WHEN both are read back THEN they have the same
// HTTP routes (besides the local-only dev issuer) and the same tables with
// the same keys and indexes.
func TestLocalStackServesWhatTheCDKAppDeploys(t *testing.T) {
	ctx := context.Background()
	st := appfixture.Stack(t, devstack.Options{})

	var local []string
	for _, k := range st.RouteKeys() {
		if !isLocalOnly(k) {
			local = append(local, k)
		}
	}
	if got := RouteKeys(deployed); !reflect.DeepEqual(local, got) {
		t.Errorf("routes differ\n local stack: %v\n CDK app:     %v", local, got)
	}

	out, err := st.DB().DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(st.App.Config.TableName)})
	if err != nil {
		t.Fatal(err)
	}
	localTable := tableFromDescription(topology.MainTable, out.Table)
	cdkTables := TableKeySchemas(deployed)
	if len(cdkTables) != 1 {
		t.Fatalf("CDK app has %d tables, the topology one", len(cdkTables))
	}
	cdkTable := cdkTables[0]
	if len(out.Table.AttributeDefinitions) == 0 {
		// minidyn's DescribeTable omits AttributeDefinitions: compare key
		// names and index layout only (types are checked against the
		// topology in TestMainTableIsOnDemandRetainedAndKeyedAsDeclared).
		t.Log("the DynamoDB server does not report attribute types; comparing key names only")
		cdkTable = withoutTypes(cdkTable)
	}
	if !reflect.DeepEqual(normalize(localTable), normalize(cdkTable)) {
		t.Errorf("tables differ\n local stack: %+v\n CDK app:     %+v", localTable, cdkTables)
	}
}

func isLocalOnly(routeKey string) bool {
	for _, r := range topology.Default().Routes {
		if r.Key() == routeKey {
			return r.Integration == topology.IntegrationLocal
		}
	}
	return strings.HasPrefix(routeKey, "POST /dev/")
}

func tableFromDescription(logical string, d *types.TableDescription) topology.Table {
	typ := map[string]topology.KeyType{}
	for _, a := range d.AttributeDefinitions {
		typ[aws.ToString(a.AttributeName)] = topology.KeyType(a.AttributeType)
	}
	keys := func(ks []types.KeySchemaElement) (pk, sk topology.Key) {
		for _, k := range ks {
			key := topology.Key{Name: aws.ToString(k.AttributeName), Type: typ[aws.ToString(k.AttributeName)]}
			if k.KeyType == types.KeyTypeHash {
				pk = key
			} else {
				sk = key
			}
		}
		return pk, sk
	}
	t := topology.Table{LogicalName: logical}
	t.PartitionKey, t.SortKey = keys(d.KeySchema)
	for _, ix := range d.GlobalSecondaryIndexes {
		i := topology.Index{Name: aws.ToString(ix.IndexName)}
		i.PartitionKey, i.SortKey = keys(ix.KeySchema)
		t.Indexes = append(t.Indexes, i)
	}
	return t
}

func withoutTypes(t topology.Table) topology.Table {
	t.PartitionKey.Type, t.SortKey.Type = "", ""
	ix := make([]topology.Index, len(t.Indexes))
	for i, x := range t.Indexes {
		x.PartitionKey.Type, x.SortKey.Type = "", ""
		ix[i] = x
	}
	t.Indexes = ix
	return t
}

func normalize(t topology.Table) topology.Table {
	sort.Slice(t.Indexes, func(i, j int) bool { return t.Indexes[i].Name < t.Indexes[j].Name })
	return t
}
