package stripe

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// params are a request's parameters, nested as Stripe's API takes them.
// A value is a string, an int64, a bool, a map[string]string (metadata),
// a []string (expand) or params (a hash such as created or
// automatic_payment_methods); encode panics on anything else, which only
// a mistake in this package can put there (the tests encode every call's
// parameters).
type params map[string]any

// encode writes p in Stripe's form encoding
// (application/x-www-form-urlencoded, the body of a POST and the query of
// a GET): a hash member as outer[inner]=v, an array element as
// name[0]=v, name[1]=v. Names are sorted at every level, so one set of
// parameters is always one string (the idempotency layer compares a
// retry's parameters with the first request's). Names and values are
// escaped as a query's are, except the brackets of nested names, which
// Stripe's documentation writes bare. Empty hashes and arrays add nothing.
func (p params) encode() string {
	var b strings.Builder
	p.encodeInto(&b, "")
	return b.String()
}

func (p params) encodeInto(b *strings.Builder, prefix string) {
	for _, k := range slices.Sorted(maps.Keys(p)) {
		name := escapeName(k)
		if prefix != "" {
			name = prefix + "[" + name + "]"
		}
		switch v := p[k].(type) {
		case string:
			pair(b, name, v)
		case int64:
			pair(b, name, strconv.FormatInt(v, 10))
		case bool:
			pair(b, name, strconv.FormatBool(v))
		case []string:
			for i, s := range v {
				pair(b, name+"["+strconv.Itoa(i)+"]", s)
			}
		case map[string]string:
			for _, mk := range slices.Sorted(maps.Keys(v)) {
				pair(b, name+"["+escapeName(mk)+"]", v[mk])
			}
		case params:
			v.encodeInto(b, name)
		default:
			panic(fmt.Sprintf("stripe: parameter %s of type %T cannot be encoded", name, v))
		}
	}
}

func pair(b *strings.Builder, name, value string) {
	if b.Len() > 0 {
		b.WriteByte('&')
	}
	b.WriteString(name)
	b.WriteByte('=')
	b.WriteString(url.QueryEscape(value))
}

// escapeName escapes one segment of a parameter's name. A bracket inside a
// segment is escaped, so it cannot open a level of nesting.
func escapeName(s string) string { return url.QueryEscape(s) }
