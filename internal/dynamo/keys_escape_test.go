package dynamo

import (
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Ids that spelled the same key before ids were escaped ('#' separates a
// key's parts) now spell different keys, and ids without '#' or '%' keep
// their keys.
func TestIdsInKeysCannotCollide(t *testing.T) {
	at := time.Date(2027, 5, 1, 10, 0, 0, 0, time.UTC)
	pairs := map[string][2]string{
		"idempotency":   {idemPK("a#b", "c"), idemPK("a", "b#c")},
		"limit":         {limitPK("e#1", "fan"), limitPK("e", "1#fan")},
		"seat":          {seatPK("e#A", "1-1"), seatPK("e", "A#1-1")},
		"place":         {placePK("e#x", "y"), placePK("e", "x#y")},
		"payment":       {paymentRecordPK("p#1", "2"), paymentRecordPK("p", "1#2")},
		"webhook":       {webhookPK("p#1", "2"), webhookPK("p", "1#2")},
		"scan":          {scanPK("t#1", "n"), scanPK("t", "1#n")},
		"ga shard":      {gaShardPK("e#GA", "x", 1), gaShardPK("e", "GA#x", 1)},
		"rate":          {fmt.Sprint(rateKey("holds#e", "fan", at)), fmt.Sprint(rateKey("holds", "e#fan", at))},
		"escape itself": {idemPK("a%23b", "c"), idemPK("a#b", "c")},
		"account index": {accountOrdersPK("a#b"), accountOrdersPK("a%23b")},
		"organization":  {orgPK("o#1"), orgPK("o%231")},
		"projection":    {fmt.Sprint(projectionKey("e", "A#B")), fmt.Sprint(projectionKey("e", "A%23B"))},
	}
	for name, p := range pairs {
		if p[0] == p[1] {
			t.Errorf("%s: two different id tuples share the key %q", name, p[0])
		}
	}
	if got := idemPK("fan-1", "k1"); got != "IDEM#fan-1#k1" {
		t.Errorf("plain ids changed their key: %q", got)
	}
	// The one key part read back: a projection's section.
	for _, section := range []string{"A", "A#B", "50%", "%23"} {
		sk := projectionKey("e", section)["sk"].(*types.AttributeValueMemberS).Value
		if got := projectionSection(sk); got != section {
			t.Errorf("section %q stored as %q reads back as %q", section, sk, got)
		}
	}
}
