package stripe

import (
	"context"
	"fmt"
	"time"
)

// pageSize is how many PaymentIntents one page asks for: Stripe's most.
const pageSize = 100

// listIntents calls each for every PaymentIntent created at or after since,
// newest first, with its latest charge, page after page (GET
// /v1/payment_intents, each page after the previous one's last id:
// starting_after). It stops at the first error each returns, which it
// returns as is.
func (c *client) listIntents(ctx context.Context, since time.Time, each func(*paymentIntent) error) error {
	p := params{
		"created": params{"gte": since.Unix()},
		"limit":   int64(pageSize),
		"expand":  []string{"data.latest_charge"},
	}
	for {
		var pg page
		if err := c.get(ctx, "/v1/payment_intents", p, &pg); err != nil {
			return err
		}
		if err := eachOf(pg.Data, each); err != nil {
			return err
		}
		if !pg.HasMore {
			return nil
		}
		last := lastID(pg.Data)
		if last == "" {
			return fmt.Errorf("stripe: a list page says it has more but names no PaymentIntent to continue after")
		}
		p["starting_after"] = last
	}
}

// searchIntents calls each for every PaymentIntent the search query finds,
// with its latest charge, page after page (GET /v1/payment_intents/search,
// each page with the previous one's next_page as page). It stops at the
// first error each returns, which it returns as is.
func (c *client) searchIntents(ctx context.Context, query string, each func(*paymentIntent) error) error {
	p := params{
		"query":  query,
		"limit":  int64(pageSize),
		"expand": []string{"data.latest_charge"},
	}
	for {
		var pg page
		if err := c.get(ctx, "/v1/payment_intents/search", p, &pg); err != nil {
			return err
		}
		if err := eachOf(pg.Data, each); err != nil {
			return err
		}
		if !pg.HasMore {
			return nil
		}
		if pg.NextPage == "" {
			return fmt.Errorf("stripe: a search page says it has more but has no next_page")
		}
		p["page"] = pg.NextPage
	}
}

func eachOf(data []*paymentIntent, each func(*paymentIntent) error) error {
	for _, pi := range data {
		if pi == nil {
			continue
		}
		if err := each(pi); err != nil {
			return err
		}
	}
	return nil
}

func lastID(data []*paymentIntent) string {
	for i := len(data) - 1; i >= 0; i-- {
		if data[i] != nil {
			return data[i].ID
		}
	}
	return ""
}
