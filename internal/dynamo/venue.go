package dynamo

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/stararena/stararena/internal/catalog"
)

// A large venue's sections are stored apart from the event document
// (ADR 17): DynamoDB refuses items over 400 KB, and a venue map of 1 MiB
// (the request limit) is valid. An event whose document fits in
// inlineDocBytes keeps it whole in the META item, as before; a larger one
// keeps its document without sections there and its sections, as gzipped
// JSON cut into venueChunkBytes pieces, in VENUE#<n> items of the event's
// partition. The venue never changes after creation, so the chunks are
// written once, before the META item that names their count, and no reader
// can see a partial venue.
const (
	inlineDocBytes  = 100 << 10
	venueChunkBytes = 300 << 10
	skVenue         = "VENUE#"
)

func venueKey(eventID string, n int) item {
	return key(eventPK(eventID), fmt.Sprintf("%s%03d", skVenue, n))
}

// packVenue compresses sections and cuts them into pieces of at most
// chunk bytes.
func packVenue(sections []catalog.Section, chunk int) ([][]byte, error) {
	raw, err := json.Marshal(sections)
	if err != nil {
		return nil, fmt.Errorf("encode venue: %w", err)
	}
	var z bytes.Buffer
	w, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	_, _ = w.Write(raw)
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("compress venue: %w", err)
	}
	var out [][]byte
	for b := z.Bytes(); len(b) > 0; b = b[min(chunk, len(b)):] {
		out = append(out, b[:min(chunk, len(b))])
	}
	return out, nil
}

// unpackVenue reverses packVenue.
func unpackVenue(chunks [][]byte) ([]catalog.Section, error) {
	r, err := gzip.NewReader(bytes.NewReader(bytes.Join(chunks, nil)))
	if err != nil {
		return nil, fmt.Errorf("venue: %w", err)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("venue: %w", err)
	}
	var sections []catalog.Section
	if err := json.Unmarshal(raw, &sections); err != nil {
		return nil, fmt.Errorf("decode venue: %w", err)
	}
	return sections, nil
}

// eventItems returns the META item's document for ev and, for a large
// venue, the chunk items to write before it.
func eventItems(ev catalog.Event) (doc string, chunks []item, err error) {
	b, err := json.Marshal(ev)
	if err != nil {
		return "", nil, fmt.Errorf("encode event: %w", err)
	}
	if len(b) <= inlineDocBytes {
		return string(b), nil, nil
	}
	pieces, err := packVenue(ev.Sections, venueChunkBytes)
	if err != nil {
		return "", nil, err
	}
	for i, p := range pieces {
		it := venueKey(ev.ID, i)
		it["venue"] = &types.AttributeValueMemberB{Value: p}
		chunks = append(chunks, it)
	}
	ev.Sections = nil
	if b, err = json.Marshal(ev); err != nil {
		return "", nil, fmt.Errorf("encode event: %w", err)
	}
	return string(b), chunks, nil
}

// loadVenue fills in the sections of an event stored with a large venue
// (venueChunks > 0 on its META item).
func (st *CatalogStore) loadVenue(ctx context.Context, ev *catalog.Event, meta item) error {
	n := int(num(meta, "venueChunks"))
	if n == 0 {
		return nil
	}
	p := dynamodb.NewQueryPaginator(st.db, &dynamodb.QueryInput{
		TableName:                 aws.String(st.table),
		KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :v)"),
		ExpressionAttributeValues: item{":p": s(eventPK(ev.ID)), ":v": s(skVenue)},
		ConsistentRead:            aws.Bool(true),
	})
	var chunks [][]byte
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			return classify("read venue of "+ev.ID, err)
		}
		for _, it := range out.Items {
			b, ok := it["venue"].(*types.AttributeValueMemberB)
			if !ok {
				return fmt.Errorf("venue of %s: chunk without data", ev.ID)
			}
			chunks = append(chunks, b.Value)
		}
	}
	if len(chunks) != n {
		return fmt.Errorf("venue of %s: %d chunks stored, %s expected", ev.ID, len(chunks), strconv.Itoa(n))
	}
	sections, err := unpackVenue(chunks)
	if err != nil {
		return fmt.Errorf("venue of %s: %w", ev.ID, err)
	}
	ev.Sections = sections
	return nil
}
