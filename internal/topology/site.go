package topology

import (
	"strconv"
	"strings"
	"time"
)

// SecurityHeaders are the security response headers of the fan site and
// the organizer console: the CDK app builds the CloudFront response
// headers policy of the site's behavior from them, and the local stack's
// file server sends the same headers, so the browser test runs the site
// under the policy it gets in AWS.
type SecurityHeaders struct {
	// ContentSecurityPolicy: no inline script or style anywhere; scripts
	// from the site and Stripe.js only. Bearer tokens live in
	// localStorage, so an injected script is the attack that matters.
	ContentSecurityPolicy string
	ContentTypeOptions    string // nosniff
	FrameOptions          string // DENY: no page of ours in anyone's frame
	ReferrerPolicy        string
	// StrictTransportSecurity: HTTPS only for this long (browsers ignore
	// it over the local stack's plain HTTP).
	StrictTransportSecurity time.Duration
}

// Site origins the pages talk to besides their own.
const (
	stripeJS    = "https://js.stripe.com"  // Stripe.js and its frames (internal/payments/stripe)
	stripeAPI   = "https://api.stripe.com" // what Stripe.js calls
	stripeHooks = "https://hooks.stripe.com"
)

// SiteSecurityHeaders are the site's headers; connect lists the origins
// the pages fetch from besides their own (in AWS the Cognito domain the
// sign-in exchanges its code at).
func SiteSecurityHeaders(connect ...string) SecurityHeaders {
	csp := [][]string{
		{"default-src", "'self'"},
		{"script-src", "'self'", stripeJS},
		{"style-src", "'self'"},
		{"img-src", "'self'", "data:"}, // ticket QR codes are data: URLs
		append([]string{"connect-src", "'self'", stripeAPI}, connect...),
		{"frame-src", stripeJS, stripeHooks},
		{"object-src", "'none'"},
		{"base-uri", "'none'"},
		{"form-action", "'self'"},
		{"frame-ancestors", "'none'"},
	}
	parts := make([]string, len(csp))
	for i, d := range csp {
		parts[i] = strings.Join(d, " ")
	}
	return SecurityHeaders{
		ContentSecurityPolicy:   strings.Join(parts, "; "),
		ContentTypeOptions:      "nosniff",
		FrameOptions:            "DENY",
		ReferrerPolicy:          "strict-origin-when-cross-origin",
		StrictTransportSecurity: 2 * 365 * 24 * time.Hour,
	}
}

// WithScripts lets the pages load scripts from origins and fetch from them
// too: the WAF's challenge script, which calls its own endpoints (ADR 22).
func (h SecurityHeaders) WithScripts(origins ...string) SecurityHeaders {
	if len(origins) == 0 {
		return h
	}
	parts := strings.Split(h.ContentSecurityPolicy, "; ")
	for i, p := range parts {
		if strings.HasPrefix(p, "script-src ") || strings.HasPrefix(p, "connect-src ") {
			parts[i] = p + " " + strings.Join(origins, " ")
		}
	}
	h.ContentSecurityPolicy = strings.Join(parts, "; ")
	return h
}

// Header is h as HTTP response headers.
func (h SecurityHeaders) Header() map[string]string {
	return map[string]string{
		"Content-Security-Policy":   h.ContentSecurityPolicy,
		"X-Content-Type-Options":    h.ContentTypeOptions,
		"X-Frame-Options":           h.FrameOptions,
		"Referrer-Policy":           h.ReferrerPolicy,
		"Strict-Transport-Security": "max-age=" + strconv.Itoa(int(h.StrictTransportSecurity.Seconds())) + "; includeSubDomains",
	}
}

// ServiceWorker is the fan site's service worker (web/sw.js), which keeps
// a fan's tickets on screen offline. A browser checks it for updates on
// every visit and refuses one not served as JavaScript; a copy kept by the
// CDN or the browser's HTTP cache would keep an old worker, and with it
// an old app shell, after a deploy. So it is served with
// ServiceWorkerCacheControl: the CDK app gives its path a CloudFront
// behavior that caches nothing and sends this header, and the local
// stack's file server sends it too.
const (
	ServiceWorkerPath         = "/sw.js"
	ServiceWorkerCacheControl = "no-cache"
	ServiceWorkerContentType  = "text/javascript; charset=utf-8"
)

// StaffSignInPages are the site's pages, relative to its root, that staff
// sign in from and come back to: the console and the gate page. The staff
// app client's callback and sign-out URLs are these and nothing else, in
// the CDK app's user pool and in the local hosted sign-in.
var StaffSignInPages = []string{"console/", "gate/"}
