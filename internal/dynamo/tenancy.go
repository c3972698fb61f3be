package dynamo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/tenancy"
)

var _ tenancy.Store = (*TenancyStore)(nil)

// An organization's partition holds its grants and its audit log as JSON
// documents ("doc"): both are read whole and never updated in place.

// PutGrant writes a grant over the person's earlier one.
func (st *TenancyStore) PutGrant(ctx context.Context, g tenancy.Grant) error {
	return st.putDoc(ctx, orgPK(g.Org), skStaff+esc(g.Subject), g, "put grant")
}

// GetGrant reads one grant (strongly consistent: a revocation counts at
// once).
func (st *TenancyStore) GetGrant(ctx context.Context, org, subject string) (tenancy.Grant, bool, error) {
	out, err := st.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(st.table), Key: key(orgPK(org), skStaff+esc(subject)), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return tenancy.Grant{}, false, classify("get grant", err)
	}
	if out.Item == nil {
		return tenancy.Grant{}, false, nil
	}
	var g tenancy.Grant
	return g, true, decodeDoc(out.Item, &g)
}

// ListGrants reads every grant of org.
func (st *TenancyStore) ListGrants(ctx context.Context, org string) ([]tenancy.Grant, error) {
	var out []tenancy.Grant
	err := st.queryDocs(ctx, org, skStaff, true, 0, func(it item) error {
		var g tenancy.Grant
		if err := decodeDoc(it, &g); err != nil {
			return err
		}
		out = append(out, g)
		return nil
	})
	return out, err
}

// AppendAudit writes one audit entry under its time, so the log reads back
// in order.
func (st *TenancyStore) AppendAudit(ctx context.Context, e tenancy.Entry) error {
	return st.putDoc(ctx, orgPK(e.Org), skAudit+e.At.UTC().Format(time.RFC3339Nano)+"#"+esc(e.ID), e, "append audit")
}

// ListAudit reads org's newest audit entries first.
func (st *TenancyStore) ListAudit(ctx context.Context, org string, limit int) ([]tenancy.Entry, error) {
	var out []tenancy.Entry
	err := st.queryDocs(ctx, org, skAudit, false, limit, func(it item) error {
		var e tenancy.Entry
		if err := decodeDoc(it, &e); err != nil {
			return err
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

func (st *TenancyStore) putDoc(ctx context.Context, pk, sk string, v any, op string) error {
	doc, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	it := key(pk, sk)
	it["doc"] = s(string(doc))
	if _, err := st.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(st.table), Item: it}); err != nil {
		return classify(op, err)
	}
	return nil
}

// queryDocs walks the items of org's partition whose sort key starts with
// prefix, up to limit (0: all).
func (st *TenancyStore) queryDocs(ctx context.Context, org, prefix string, forward bool, limit int, each func(item) error) error {
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :s)"),
		ExpressionAttributeValues: item{":p": s(orgPK(org)), ":s": s(prefix)},
		ScanIndexForward:          aws.Bool(forward),
		ConsistentRead:            aws.Bool(true),
	})
	seen := 0
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return classify("query organization "+org, err)
		}
		for _, it := range page.Items {
			if limit > 0 && seen == limit {
				return nil
			}
			if err := each(it); err != nil {
				return err
			}
			seen++
		}
	}
	return nil
}

func decodeDoc(it item, v any) error {
	doc, ok := it["doc"].(*types.AttributeValueMemberS)
	if !ok {
		return errors.New("item has no doc")
	}
	if err := json.Unmarshal([]byte(doc.Value), v); err != nil {
		return fmt.Errorf("decode %T: %w", v, err)
	}
	return nil
}
