package dynamo

import (
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/clock"
)

// Store implements the domain stores on one DynamoDB table.
//
// Key design (single table, pk/sk strings):
//
//	EVENT#<id>                 META           event document; gsi1 EVENTS / <startsAt>#<id>
//	EVENT#<id>                 AVAIL#<sec>    availability projection of a section
//	EVENT#<id>                 AVAIL_LEASE    who may rebuild the projections
//	SEAT#<id>#<seat>           SEAT           one reserved seat (own partition key:
//	                                          holds on different seats never share a partition)
//	GA#<id>#<sec>#<n>          GA             one GA counter shard
type Store struct {
	db    *dynamodb.Client
	table string
	clock clock.Clock
}

// NewStore returns a store on table.
func NewStore(db *dynamodb.Client, table string, c clock.Clock) *Store {
	if c == nil {
		c = clock.System{}
	}
	return &Store{db: db, table: table, clock: c}
}

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }

func key(pk, sk string) item { return item{"pk": s(pk), "sk": s(sk)} }

func eventPK(id string) string           { return "EVENT#" + id }
func seatPK(eventID, seat string) string { return "SEAT#" + eventID + "#" + seat }
func gaShardPK(eventID, sec string, n int) string {
	return "GA#" + eventID + "#" + sec + "#" + itoa(n)
}
