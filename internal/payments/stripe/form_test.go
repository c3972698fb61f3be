package stripe

import (
	"net/url"
	"testing"
)

func TestParamsEncoding(t *testing.T) {
	cases := []struct {
		name string
		p    params
		want string
	}{
		{"Empty", params{}, ""},
		{"ScalarsSortedByName", params{"currency": "eur", "amount": int64(1500), "confirm": false},
			"amount=1500&confirm=false&currency=eur"},
		{"HashAsBrackets", params{"automatic_payment_methods": params{"enabled": true}},
			"automatic_payment_methods[enabled]=true"},
		{"HashInHash", params{"a": params{"b": params{"c": "d"}}}, "a[b][c]=d"},
		{"RangeHash", params{"created": params{"lte": int64(20), "gte": int64(10)}}, "created[gte]=10&created[lte]=20"},
		{"MetadataSortedByKey", params{"metadata": map[string]string{"order_id": "o-1", "b": "2"}},
			"metadata[b]=2&metadata[order_id]=o-1"},
		{"ArrayIndexed", params{"expand": []string{"latest_charge", "customer"}}, "expand[0]=latest_charge&expand[1]=customer"},
		{"ArrayInHash", params{"a": params{"expand": []string{"x"}}}, "a[expand][0]=x"},
		{"EmptyArrayAndHashAddNothing", params{"expand": []string{}, "metadata": map[string]string{}, "h": params{}, "limit": int64(1)},
			"limit=1"},
		{"ValuesEscaped", params{"query": "metadata['order_id']:'a b&c=d'"},
			"query=metadata%5B%27order_id%27%5D%3A%27a+b%26c%3Dd%27"},
		{"UnicodeValue", params{"description": "Zoë €"}, "description=Zo%C3%AB+%E2%82%AC"},
		{"NameBracketsCannotNest", params{"metadata": map[string]string{"a][b": "x", "k=v&": "y"}},
			"metadata[a%5D%5Bb]=x&metadata[k%3Dv%26]=y"},
		{"NegativeInteger", params{"n": int64(-3)}, "n=-3"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.p.encode(); got != c.want {
				t.Fatalf("encode() = %q, want %q", got, c.want)
			}
		})
	}

	// What a server reading the standard form encoding sees.
	t.Run("DecodesToTheFlatNames", func(t *testing.T) {
		p := params{
			"amount": int64(1500), "currency": "eur",
			"automatic_payment_methods": params{"enabled": true},
			"metadata":                  map[string]string{"order_id": "order 1/ä"},
			"expand":                    []string{"latest_charge"},
		}
		got, err := url.ParseQuery(p.encode())
		if err != nil {
			t.Fatal(err)
		}
		want := url.Values{
			"amount": {"1500"}, "currency": {"eur"}, "automatic_payment_methods[enabled]": {"true"},
			"metadata[order_id]": {"order 1/ä"}, "expand[0]": {"latest_charge"},
		}
		if got.Encode() != want.Encode() {
			t.Fatalf("decoded %v, want %v", got, want)
		}
	})

	t.Run("OtherTypesPanic", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Fatal("an int (not int64) was encoded")
			}
		}()
		params{"n": 3}.encode()
	})
}
