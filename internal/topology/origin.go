package topology

import (
	"slices"
	"strings"
)

// OriginHeader carries the origin proof: CloudFront adds it to every
// request it forwards to the API, and the API refuses a request to a CDN
// route without it, so nobody skips CloudFront and its WAF by calling the
// API's own execute-api address (ADR 22). CloudFront replaces a viewer's
// header of the same name, so a client cannot supply it through the CDN.
const OriginHeader = "X-Origin-Proof"

// ViaCDN reports whether callers reach r through CloudFront: every deployed
// route but the staff routes, whose callers sign requests for the API's own
// host name and call it directly.
func (r Route) ViaCDN() bool { return r.Integration != IntegrationLocal && r.Auth != AuthOrganizer }

// OriginProofReaders lists the functions that check the origin proof:
// those serving a CDN route, and the consumers of the queues CDN routes
// send to.
func (t Topology) OriginProofReaders() []string {
	var out []string
	add := func(fn string) {
		if fn != "" && !slices.Contains(out, fn) {
			out = append(out, fn)
		}
	}
	for _, r := range t.Routes {
		switch {
		case !r.ViaCDN():
		case r.Integration == IntegrationLambda:
			add(r.Function)
		case r.Integration == IntegrationSQS:
			for _, q := range t.Queues {
				if q.Name == r.Queue {
					add(q.Consumer)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

// JoinOriginAttribute is the join message's attribute that carries the
// origin proof the request arrived with: no function runs on the join
// route, so the assigner checks it and drops joins that skipped the CDN.
const JoinOriginAttribute = "originProof"

// JoinAttributes are the join route's message attributes. A request
// without the header makes the attribute empty, which SQS refuses: the
// join is answered 400 and never queued.
func JoinAttributes() map[string]string {
	return map[string]string{JoinOriginAttribute: "${request.header." + strings.ToLower(OriginHeader) + "}"}
}
