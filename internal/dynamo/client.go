// Package dynamo is StarArena's DynamoDB adapter: the client, table creation
// from the topology, and the stores the domain packages define.
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/stararena/stararena/internal/awsconf"
	"github.com/stararena/stararena/internal/topology"
)

// ClientOptions configures NewClient.
type ClientOptions struct {
	Region string
	// Endpoint overrides the DynamoDB endpoint (minidyn, dynalite, DynamoDB
	// Local, LocalStack). Empty means the SDK's normal resolution, which also
	// honours AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL.
	Endpoint string
	// StaticCredentials uses dummy keys: local servers accept any signature.
	StaticCredentials bool
	// MaxConns bounds idle connections kept per host. The SDK default (10)
	// churns connections under hundreds of concurrent requests.
	MaxConns int
}

// NewClient builds a DynamoDB client.
func NewClient(ctx context.Context, o ClientOptions) (*dynamodb.Client, error) {
	if o.MaxConns <= 0 {
		o.MaxConns = 256
	}
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = o.MaxConns
		t.MaxIdleConnsPerHost = o.MaxConns
		t.IdleConnTimeout = 60 * time.Second
	})
	opts := awsconf.Options{Region: o.Region, Service: "DYNAMODB", HTTPClient: httpClient}
	if o.StaticCredentials {
		opts.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "local", SecretAccessKey: "local", Source: "stararena-local"}, nil
		})
	}
	cfg, err := awsconf.Load(ctx, opts)
	if err != nil {
		return nil, err
	}
	return dynamodb.NewFromConfig(cfg, func(do *dynamodb.Options) {
		if o.Endpoint != "" {
			do.BaseEndpoint = aws.String(o.Endpoint)
			// minidyn does not compute response CRC32 checksums.
			do.DisableValidateResponseChecksum = true
			// Only a local endpoint learns which function asked: AWS
			// requests stay as the SDK makes them.
			do.APIOptions = append(do.APIOptions, addCallerHeader)
		}
	}), nil
}

// CallerHeader names, on requests to a local endpoint, the function whose
// invocation made the request (WithCaller), so that the local stack and the
// rush simulation can say which caller issues which reads and writes.
const CallerHeader = "X-Stararena-Caller"

type callerKey struct{}

// WithCaller marks ctx's DynamoDB requests as made by caller (a function's
// name). The local stack sets it per invocation; nothing depends on it.
func WithCaller(ctx context.Context, caller string) context.Context {
	return context.WithValue(ctx, callerKey{}, caller)
}

func addCallerHeader(stack *middleware.Stack) error {
	return stack.Build.Add(middleware.BuildMiddlewareFunc("StarArenaCaller", func(ctx context.Context, in middleware.BuildInput, next middleware.BuildHandler) (middleware.BuildOutput, middleware.Metadata, error) {
		if c, ok := ctx.Value(callerKey{}).(string); ok {
			if req, ok := in.Request.(*smithyhttp.Request); ok {
				req.Header.Set(CallerHeader, c)
			}
		}
		return next.HandleBuild(ctx, in)
	}), middleware.After)
}

// CreateTables creates every table of the topology that does not exist yet,
// named by names[LogicalName], and returns once each table and its indexes
// are ACTIVE. It is for local stacks and tests; in AWS the CDK app owns the
// tables. The wait matters beyond AWS: DynamoDB Local, dynalite and
// LocalStack answer CreateTable with CREATING and refuse item requests
// until the table is ACTIVE (the embedded server reports ACTIVE at once).
func CreateTables(ctx context.Context, db *dynamodb.Client, tables []topology.Table, names map[string]string) error {
	for _, t := range tables {
		name := names[t.LogicalName]
		if name == "" {
			return fmt.Errorf("create tables: no physical name for %q", t.LogicalName)
		}
		_, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		var nf *types.ResourceNotFoundException
		switch {
		case err == nil:
		case !errors.As(err, &nf):
			return classify(fmt.Sprintf("describe table %s", name), err)
		default:
			var inUse *types.ResourceInUseException
			if _, err := db.CreateTable(ctx, CreateTableInput(name, t)); err != nil && !errors.As(err, &inUse) {
				return classify(fmt.Sprintf("create table %s", name), err)
			}
		}
		// A table found or made by someone else may still be CREATING too.
		if err := WaitActive(ctx, db, name, TableActiveWithin); err != nil {
			return err
		}
	}
	return nil
}

// TableActiveWithin bounds WaitActive in CreateTables: AWS documents
// minutes for a new table with indexes in the worst case.
const TableActiveWithin = 5 * time.Minute

// WaitActive polls DescribeTable until the table and every global secondary
// index report ACTIVE, or within passes. A server that reports no status
// at all is not ACTIVE: waiting would never end, so it fails at once
// naming the table.
func WaitActive(ctx context.Context, db *dynamodb.Client, name string, within time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, within)
	defer cancel()
	delay := 20 * time.Millisecond
	for {
		out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)})
		if err != nil {
			return classify(fmt.Sprintf("wait for table %s", name), err)
		}
		status, pending := tableStatus(out.Table)
		switch {
		case status == "":
			return fmt.Errorf("wait for table %s: the server reports no TableStatus", name)
		case status == types.TableStatusActive && pending == "":
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for table %s: %s (index %q) after %s: %w", name, status, pending, within, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}

// tableStatus is the table's status and the name of an index that is not
// ACTIVE yet ("" when all are).
func tableStatus(d *types.TableDescription) (types.TableStatus, string) {
	if d == nil {
		return "", ""
	}
	for _, ix := range d.GlobalSecondaryIndexes {
		if ix.IndexStatus != types.IndexStatusActive {
			return d.TableStatus, aws.ToString(ix.IndexName)
		}
	}
	return d.TableStatus, ""
}

// CreateTableInput is the CreateTable request for topology table t, named
// name: on-demand, every index projecting all attributes.
func CreateTableInput(name string, t topology.Table) *dynamodb.CreateTableInput {
	defs := map[string]topology.KeyType{}
	add := func(k topology.Key) {
		if k.Name != "" {
			defs[k.Name] = k.Type
		}
	}
	keySchema := func(pk, sk topology.Key) []types.KeySchemaElement {
		add(pk)
		ks := []types.KeySchemaElement{{AttributeName: aws.String(pk.Name), KeyType: types.KeyTypeHash}}
		if sk.Name != "" {
			add(sk)
			ks = append(ks, types.KeySchemaElement{AttributeName: aws.String(sk.Name), KeyType: types.KeyTypeRange})
		}
		return ks
	}
	in := &dynamodb.CreateTableInput{
		TableName:   aws.String(name),
		BillingMode: types.BillingModePayPerRequest,
		KeySchema:   keySchema(t.PartitionKey, t.SortKey),
	}
	for _, ix := range t.Indexes {
		in.GlobalSecondaryIndexes = append(in.GlobalSecondaryIndexes, types.GlobalSecondaryIndex{
			IndexName:  aws.String(ix.Name),
			KeySchema:  keySchema(ix.PartitionKey, ix.SortKey),
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
		})
	}
	for n, typ := range defs {
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{
			AttributeName: aws.String(n), AttributeType: types.ScalarAttributeType(typ),
		})
	}
	return in
}
