package localdynamo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/dynamo"
	"github.com/stararena/stararena/internal/localdynamo"
	"github.com/stararena/stararena/internal/topology"
)

func TestTablesAndIndexesReportActive(t *testing.T) {
	for name, h := range map[string]http.Handler{"front": localdynamo.New(localdynamo.Options{}), "sharded": localdynamo.NewSharded(3)} {
		t.Run(name, func(t *testing.T) {
			// GIVEN the embedded server and the topology's main table
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			ctx := context.Background()
			db, err := dynamo.NewClient(ctx, dynamo.ClientOptions{Region: "us-east-1", Endpoint: srv.URL, StaticCredentials: true})
			if err != nil {
				t.Fatal(err)
			}
			main := topology.Default().Tables[0]
			// WHEN the table is created as CreateTables does, then described
			created, err := db.CreateTable(ctx, dynamo.CreateTableInput("t", main))
			if err != nil {
				t.Fatal(err)
			}
			described, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("t")})
			if err != nil {
				t.Fatal(err)
			}
			// THEN both answers say ACTIVE, as DynamoDB does once a table
			// takes requests, and so does every index
			if s := created.TableDescription.TableStatus; s != types.TableStatusActive {
				t.Errorf("CreateTable answers TableStatus %q", s)
			}
			if s := described.Table.TableStatus; s != types.TableStatusActive {
				t.Errorf("DescribeTable answers TableStatus %q", s)
			}
			if len(described.Table.GlobalSecondaryIndexes) != len(main.Indexes) {
				t.Fatalf("%d indexes described, %d declared", len(described.Table.GlobalSecondaryIndexes), len(main.Indexes))
			}
			for _, ix := range described.Table.GlobalSecondaryIndexes {
				if ix.IndexStatus != types.IndexStatusActive {
					t.Errorf("index %s: IndexStatus %q", aws.ToString(ix.IndexName), ix.IndexStatus)
				}
			}
			// AND CreateTables, which waits for ACTIVE, returns at once
			if err := dynamo.CreateTables(ctx, db, topology.Default().Tables, map[string]string{topology.MainTable: "t"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
