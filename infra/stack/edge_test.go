package stack

import (
	"encoding/json"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/botlevel"
	"github.com/stararena/stararena/internal/topology"
)

// Managed CloudFront policy ids (fixed by AWS).
const (
	cachingDisabled           = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"
	allViewerExceptHostHeader = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
	cachingOptimizedPolicyID  = "658327ea-f89d-4fab-a63d-7e88639e58f6"
)

// distributionConfig returns the one distribution's DistributionConfig.
func distributionConfig(t *testing.T) map[string]any {
	t.Helper()
	ds := properties(deployed, "AWS::CloudFront::Distribution")
	if len(ds) != 1 {
		t.Fatalf("%d distributions, want 1", len(ds))
	}
	for _, p := range ds {
		return p["DistributionConfig"].(map[string]any)
	}
	return nil
}

// behaviorTTL resolves a behavior's cache policy to its default and max TTL
// (0 for the managed CachingDisabled policy).
func behaviorTTL(t *testing.T, b map[string]any) (def, max float64, cached bool) {
	t.Helper()
	switch id := b["CachePolicyId"].(type) {
	case string:
		if id != cachingDisabled {
			t.Fatalf("behavior %s: managed cache policy %s", b["PathPattern"], id)
		}
		return 0, 0, false
	case map[string]any:
		policy := properties(deployed, "AWS::CloudFront::CachePolicy")[str(id["Ref"])]
		cfg := policy["CachePolicyConfig"].(map[string]any)
		return cfg["DefaultTTL"].(float64), cfg["MaxTTL"].(float64), true
	}
	t.Fatalf("behavior %s: no cache policy", b["PathPattern"])
	return
}

func TestCDNCachesEachRouteForItsCacheTTL(t *testing.T) {
	// GIVEN the distribution's API behaviors
	cfg := distributionConfig(t)
	behaviors := map[string]map[string]any{}
	var order []string
	for _, b := range list(cfg["CacheBehaviors"]) {
		behaviors[str(b["PathPattern"])] = b
		order = append(order, str(b["PathPattern"]))
	}
	// THEN the cached routes have their TTL: queue-status and availability
	// 2 s, the catalog 5 s, the draw and its parts 60 s
	for pattern, want := range map[string]time.Duration{
		"/v1/events/*/queue-status": 2 * time.Second,
		"/v1/events/*/availability": 2 * time.Second,
		"/v1/events":                5 * time.Second,
		"/v1/events/*":              5 * time.Second,
		"/v1/events/*/queue/draw":   time.Minute,
		"/v1/events/*/queue/draw/*": time.Minute,
	} {
		b, ok := behaviors[pattern]
		if !ok {
			t.Errorf("no behavior for %s", pattern)
			continue
		}
		def, max, cached := behaviorTTL(t, b)
		if !cached || def != want.Seconds() || max != want.Seconds() {
			t.Errorf("%s: default/max TTL %v/%v, want %v", pattern, def, max, want.Seconds())
		}
	}
	// AND every CDN route's behavior follows its declared CacheTTL; uncached
	// ones forward everything but Host (Authorization included)
	topo := topology.Default()
	for _, r := range CDNRoutes(topo) {
		pattern := CDNPathPattern(r.Path)
		b, ok := behaviors[pattern]
		if !ok {
			t.Errorf("%s: no behavior %s", r.Key(), pattern)
			continue
		}
		def, _, cached := behaviorTTL(t, b)
		if cached != (r.CacheTTL > 0) || def != r.CacheTTL.Seconds() {
			t.Errorf("%s: cached=%v ttl=%v, want CacheTTL %s", r.Key(), cached, def, r.CacheTTL)
		}
		if !cached && b["OriginRequestPolicyId"] != allViewerExceptHostHeader {
			t.Errorf("%s: origin request policy %v, want AllViewerExceptHostHeader (forwards Authorization)", r.Key(), b["OriginRequestPolicyId"])
		}
		if cached && b["OriginRequestPolicyId"] != nil {
			t.Errorf("%s: cached route forwards %v", r.Key(), b["OriginRequestPolicyId"])
		}
		// AND the route's method is allowed by its behavior
		if !containsStr(stringList(b["AllowedMethods"]), r.Method) {
			t.Errorf("%s: method not allowed by %s (%v)", r.Key(), pattern, b["AllowedMethods"])
		}
	}
	// AND a cached public route keys on nothing but the path
	for _, p := range properties(deployed, "AWS::CloudFront::CachePolicy") {
		keys := p["CachePolicyConfig"].(map[string]any)["ParametersInCacheKeyAndForwardedToOrigin"].(map[string]any)
		for _, k := range []string{"HeadersConfig", "QueryStringsConfig", "CookiesConfig"} {
			cfgK := keys[k].(map[string]any)
			for _, v := range cfgK {
				if s, ok := v.(string); ok && s != "none" {
					t.Errorf("cache policy %s: %s=%s", p["CachePolicyConfig"].(map[string]any)["Name"], k, s)
				}
			}
		}
	}
	// AND more specific patterns come first (CloudFront takes the first match)
	for i, a := range order {
		for _, b := range order[i+1:] {
			if patternCovers(a, b) {
				t.Errorf("%s is listed before the more specific %s", a, b)
			}
		}
	}
	// AND organizer routes are not behind CloudFront (SigV4 signs the API's host)
	shared := map[string]bool{}
	for _, r := range CDNRoutes(topo) {
		shared[CDNPathPattern(r.Path)] = true
	}
	for _, r := range topo.Routes {
		if _, ok := behaviors[CDNPathPattern(r.Path)]; ok && r.Auth == topology.AuthOrganizer && !shared[CDNPathPattern(r.Path)] {
			t.Errorf("organizer route %s is behind CloudFront", r.Key())
		}
	}
}

// patternCovers reports whether CloudFront pattern a also matches every
// path b matches (so a placed before b would shadow it).
func patternCovers(a, b string) bool {
	if a == b {
		return false
	}
	re := regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(a), `\*`, ".*") + "$")
	return re.MatchString(strings.ReplaceAll(b, "*", "x/y"))
}

func containsStr(l []string, s string) bool {
	for _, v := range l {
		if v == s {
			return true
		}
	}
	return false
}

func TestSiteIsPrivateS3BehindCloudFrontWithOriginAccessControl(t *testing.T) {
	cfg := distributionConfig(t)
	def := cfg["DefaultCacheBehavior"].(map[string]any)
	// THEN the default behavior serves the site bucket, HTTPS only
	if def["ViewerProtocolPolicy"] != "redirect-to-https" || def["CachePolicyId"] != cachingOptimizedPolicyID {
		t.Errorf("default behavior %v", def)
	}
	var s3Origin map[string]any
	for _, o := range list(cfg["Origins"]) {
		if _, ok := o["S3OriginConfig"]; ok {
			s3Origin = o
		}
	}
	if s3Origin == nil || s3Origin["OriginAccessControlId"] == nil {
		t.Fatalf("no S3 origin with origin access control: %v", cfg["Origins"])
	}
	expect(t, func() {
		deployed.HasResourceProperties(jsii.String("AWS::CloudFront::OriginAccessControl"), map[string]any{
			"OriginAccessControlConfig": assertions.Match_ObjectLike(&map[string]any{
				"OriginAccessControlOriginType": "s3", "SigningBehavior": "always", "SigningProtocol": "sigv4",
			}),
		})
		deployed.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"LoggingConfiguration": assertions.Match_AnyValue(),
		})
	})
	// AND the API origin is HTTPS-only, TLS 1.2
	var api map[string]any
	for _, o := range list(cfg["Origins"]) {
		if c, ok := o["CustomOriginConfig"].(map[string]any); ok {
			api = c
		}
	}
	if api["OriginProtocolPolicy"] != "https-only" || !equalJSON(api["OriginSSLProtocols"], []any{"TLSv1.2"}) {
		t.Errorf("API origin %v", api)
	}
	// AND the distribution logs to the access-log bucket
	if cfg["Logging"] == nil {
		t.Error("distribution has no logging")
	}
}

func TestWebACLLimitsJoinsPerAccountAndIsAttachedAcrossRegions(t *testing.T) {
	// GIVEN the edge stack's web ACL
	acls := properties(edge, "AWS::WAFv2::WebACL")
	if len(acls) != 1 {
		t.Fatalf("%d web ACLs in the edge stack, want 1", len(acls))
	}
	var acl map[string]any
	for _, a := range acls {
		acl = a
	}
	// THEN it is a CloudFront ACL
	if acl["Scope"] != "CLOUDFRONT" {
		t.Errorf("scope %v", acl["Scope"])
	}
	rules := map[string]map[string]any{}
	for _, r := range list(acl["Rules"]) {
		rules[str(r["Name"])] = r
	}
	// AND the join rule counts POSTs to the join path per Authorization header, 30 a minute, then 429
	join := rules[RuleJoinsPerAccount]
	rate, _ := join["Statement"].(map[string]any)["RateBasedStatement"].(map[string]any)
	if rate["Limit"] != float64(30) || rate["EvaluationWindowSec"] != float64(60) || rate["AggregateKeyType"] != "CUSTOM_KEYS" {
		t.Errorf("join rule %v", rate)
	}
	keys := list(rate["CustomKeys"])
	if len(keys) != 1 || str(keys[0]["Header"].(map[string]any)["Name"]) != "authorization" {
		t.Errorf("join rule keys %v, want the authorization header", rate["CustomKeys"])
	}
	scope := rate["ScopeDownStatement"].(map[string]any)["AndStatement"].(map[string]any)
	var method, pathRe string
	for _, st := range list(scope["Statements"]) {
		if bm, ok := st["ByteMatchStatement"].(map[string]any); ok {
			method = str(bm["SearchString"])
		}
		if rm, ok := st["RegexMatchStatement"].(map[string]any); ok {
			pathRe = str(rm["RegexString"])
		}
	}
	re, err := regexp.Compile(pathRe)
	if method != "POST" || err != nil {
		t.Fatalf("join rule scope: method %q, path %q (%v)", method, pathRe, err)
	}
	for path, want := range map[string]bool{
		"/v1/events/summer-fest/queue":        true,
		"/v1/events/summer-fest/queue/me":     false,
		"/v1/events/summer-fest/queue-status": false,
		"/v1/events/a/b/queue":                false,
		"/v1/events/summer-fest/holds":        false,
	} {
		if re.MatchString(path) != want {
			t.Errorf("join rule matches %s: %v, want %v", path, !want, want)
		}
	}
	action := join["Action"].(map[string]any)["Block"].(map[string]any)["CustomResponse"].(map[string]any)
	if action["ResponseCode"] != float64(429) {
		t.Errorf("join rule answers %v, want 429", action["ResponseCode"])
	}
	// AND a high per-IP ceiling and the AWS managed groups follow
	if ip := rules[RuleRequestsPerIP]["Statement"].(map[string]any)["RateBasedStatement"].(map[string]any); ip["AggregateKeyType"] != "IP" ||
		ip["Limit"].(float64) < 1000 {
		t.Errorf("per-IP rule %v", ip)
	}
	for _, g := range []string{"AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet"} {
		if rules[g] == nil {
			t.Errorf("no %s", g)
		}
	}
	// AND the main stack's distribution attaches it through a cross-region stack output
	web := distributionConfig(t)["WebACLId"].(map[string]any)
	ref, ok := web["Fn::GetStackOutput"].(map[string]any)
	if !ok || ref["StackName"] != EdgeStackID || ref["Region"] != EdgeRegion {
		t.Errorf("WebACLId %v, want Fn::GetStackOutput of %s in %s", web, EdgeStackID, EdgeRegion)
	}
	outputs := edge.ToJSON()
	if _, ok := (*outputs)["Outputs"].(map[string]any)[str(ref["OutputName"])]; !ok {
		t.Errorf("the edge stack has no output %v", ref["OutputName"])
	}
}

func TestJoinPathRegexFollowsTheTopology(t *testing.T) {
	topo := topology.Topology{Routes: []topology.Route{
		{Method: "POST", Path: "/v1/events/{eventId}/queue", Integration: topology.IntegrationSQS},
		{Method: "POST", Path: "/v2/lines/{line}/join.now", Integration: topology.IntegrationSQS},
	}}
	got := JoinPathRegex(topo)
	want := `^(?:/v1/events/[^/]+/queue|/v2/lines/[^/]+/join\.now)$`
	if got != want {
		t.Fatalf("JoinPathRegex = %s, want %s", got, want)
	}
}

// TestSiteFoldersServeTheirIndex: GIVEN the distribution THEN its default
// (site) behavior runs the directory-index function on viewer requests,
// AND that function, run in Node on CloudFront's event shape, serves
// /console/ and /gate/ from their index.html, redirects /console to
// /console/ keeping the query, and leaves files alone.
func TestSiteFoldersServeTheirIndex(t *testing.T) {
	def := distributionConfig(t)["DefaultCacheBehavior"].(map[string]any)
	assocs := list(def["FunctionAssociations"])
	if len(assocs) != 1 || assocs[0]["EventType"] != "viewer-request" {
		t.Fatalf("default behavior's functions %v: want one viewer-request function", def["FunctionAssociations"])
	}
	expect(t, func() {
		deployed.HasResourceProperties(jsii.String("AWS::CloudFront::Function"), map[string]any{
			"FunctionCode":   DirectoryIndexFunction,
			"FunctionConfig": assertions.Match_ObjectLike(&map[string]any{"Runtime": "cloudfront-js-2.0"}),
			"AutoPublish":    true,
		})
	})
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node is not installed: the function's behavior is not run")
	}
	harness := DirectoryIndexFunction + `
const cases = [['/console/', {}], ['/gate/', {}], ['/', {}], ['/console', {event: {value: 'demo'}}], ['/gate', {}], ['/app.js', {}], ['/console/console.js', {}]];
console.log(JSON.stringify(cases.map(([uri, querystring]) => {
  const r = handler({request: {uri, querystring}});
  return r.statusCode ? r.statusCode + ' ' + r.headers.location.value : r.uri;
})));`
	out, err := exec.Command("node", "-e", harness).Output()
	if err != nil {
		t.Fatalf("run the function: %v", err)
	}
	want := `["/console/index.html","/gate/index.html","/index.html","301 /console/?event=demo","301 /gate/","/app.js","/console/console.js"]`
	if strings.TrimSpace(string(out)) != want {
		t.Errorf("function answered %s, want %s", out, want)
	}
}

// TestSiteSendsTheDeclaredSecurityHeaders: the site's behavior answers with
// a response headers policy built from topology.SiteSecurityHeaders (the
// local stack's file server sends the same), its CSP naming the Cognito
// domain the sign-in exchanges codes at.
func TestSiteSendsTheDeclaredSecurityHeaders(t *testing.T) {
	def := distributionConfig(t)["DefaultCacheBehavior"].(map[string]any)
	ref, ok := def["ResponseHeadersPolicyId"].(map[string]any)
	if !ok {
		t.Fatalf("the site's behavior has no response headers policy of its own: %v", def["ResponseHeadersPolicyId"])
	}
	policy := properties(deployed, "AWS::CloudFront::ResponseHeadersPolicy")[str(ref["Ref"])]
	if policy == nil {
		t.Fatalf("no response headers policy %v", ref)
	}
	sec := policy["ResponseHeadersPolicyConfig"].(map[string]any)["SecurityHeadersConfig"].(map[string]any)
	csp := sec["ContentSecurityPolicy"].(map[string]any)
	got := flattenJoin(csp["ContentSecurityPolicy"])
	domain := regexp.MustCompile(`https://X\.auth\.[a-z0-9-]+\.amazoncognito\.com`).FindString(got)
	if domain == "" {
		t.Errorf("the CSP names no Cognito domain to connect to: %s", got)
	}
	want := topology.SiteSecurityHeaders(domain)
	if got != want.ContentSecurityPolicy || csp["Override"] != true {
		t.Errorf("CSP %q (override %v)\nwant %q", got, csp["Override"], want.ContentSecurityPolicy)
	}
	if strings.Contains(want.ContentSecurityPolicy, "unsafe-inline") || !strings.Contains(want.ContentSecurityPolicy, "frame-ancestors 'none'") {
		t.Errorf("the declared CSP allows inline code or framing: %s", want.ContentSecurityPolicy)
	}
	checks := map[string]any{
		"ContentTypeOptions":      map[string]any{"Override": true},
		"FrameOptions":            map[string]any{"FrameOption": want.FrameOptions, "Override": true},
		"ReferrerPolicy":          map[string]any{"ReferrerPolicy": want.ReferrerPolicy, "Override": true},
		"StrictTransportSecurity": map[string]any{"AccessControlMaxAgeSec": want.StrictTransportSecurity.Seconds(), "IncludeSubdomains": true, "Override": true},
	}
	for k, v := range checks {
		if !equalJSON(sec[k], v) {
			t.Errorf("%s = %v, want %v", k, sec[k], v)
		}
	}
}

// flattenJoin renders a CloudFormation string: a literal, or an Fn::Join
// with "" whose non-literal parts (references) become "X".
func flattenJoin(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case map[string]any:
		j, ok := x["Fn::Join"].([]any)
		if !ok || len(j) != 2 || j[0] != "" {
			return "X"
		}
		var b strings.Builder
		for _, p := range j[1].([]any) {
			b.WriteString(flattenJoin(p))
		}
		return b.String()
	}
	return "X"
}

// TestCloudFrontProvesItsOriginToTheAPI: GIVEN the distribution THEN its
// API origin sends the origin proof header, resolved at deploy time from
// the OriginProof secret's "current" (never a literal in the template),
// AND that secret is generated with room for a previous value (ADR 22).
func TestCloudFrontProvesItsOriginToTheAPI(t *testing.T) {
	found := 0
	for _, o := range list(distributionConfig(t)["Origins"]) {
		if o["CustomOriginConfig"] == nil {
			continue // the site bucket
		}
		found++
		hs := list(o["OriginCustomHeaders"])
		if len(hs) != 1 || hs[0]["HeaderName"] != topology.OriginHeader {
			t.Errorf("API origin headers %v, want %s only", o["OriginCustomHeaders"], topology.OriginHeader)
			continue
		}
		raw, _ := json.Marshal(hs[0]["HeaderValue"])
		for _, want := range []string{"{{resolve:secretsmanager:", `"Ref":"OriginProof`, ":SecretString:current::}}"} {
			if !strings.Contains(string(raw), want) {
				t.Errorf("origin proof header %s, want it to contain %s", raw, want)
			}
		}
	}
	if found != 1 {
		t.Fatalf("%d custom (API) origins, want 1", found)
	}
	generated := 0
	for id, p := range properties(deployed, "AWS::SecretsManager::Secret") {
		if !strings.HasPrefix(id, "OriginProof") {
			continue
		}
		generated++
		g, _ := p["GenerateSecretString"].(map[string]any)
		if g["GenerateStringKey"] != "current" || !strings.Contains(str(g["SecretStringTemplate"]), `"previous"`) ||
			g["ExcludePunctuation"] != true || g["PasswordLength"].(float64) < 32 {
			t.Errorf("origin proof secret generation %v", g)
		}
	}
	if generated != 1 {
		t.Errorf("%d origin proof secrets, want 1", generated)
	}
}

// webACLRules returns the rules of template tpl's one web ACL by name, and
// the ACL's properties.
func webACLRules(t *testing.T, tpl assertions.Template) (map[string]map[string]any, map[string]any) {
	t.Helper()
	acls := properties(tpl, "AWS::WAFv2::WebACL")
	if len(acls) != 1 {
		t.Fatalf("%d web ACLs, want 1", len(acls))
	}
	rules := map[string]map[string]any{}
	for _, a := range acls {
		for _, r := range list(a["Rules"]) {
			rules[str(r["Name"])] = r
		}
		return rules, a
	}
	return nil, nil
}

// TestJoinsMeetABotCheckAndAPerClientLimit: GIVEN the edge stack's web ACL
// THEN every join first meets AWS WAF's Challenge, good for five minutes,
// AND joins are limited per client on keys a caller cannot vary freely
// (address and JA4 fingerprint) besides per token, AND the CAPTCHA level
// turns the check into a CAPTCHA (ADR 22).
func TestJoinsMeetABotCheckAndAPerClientLimit(t *testing.T) {
	rules, acl := webACLRules(t, edge)
	check := rules[RuleJoinCheck]
	perAccount := rules[RuleJoinsPerAccount]["Statement"].(map[string]any)["RateBasedStatement"].(map[string]any)
	if check == nil || check["Priority"] != float64(0) || check["Action"].(map[string]any)["Challenge"] == nil {
		t.Fatalf("join check %v, want the first rule, a Challenge", check)
	}
	if !equalJSON(check["Statement"], perAccount["ScopeDownStatement"]) {
		t.Errorf("join check matches %v, want the join route as the join limit does (%v)", check["Statement"], perAccount["ScopeDownStatement"])
	}
	for _, cfg := range []string{"ChallengeConfig", "CaptchaConfig"} {
		c, _ := acl[cfg].(map[string]any)
		if c == nil || c["ImmunityTimeProperty"].(map[string]any)["ImmunityTime"] != ChallengeImmunity.Seconds() {
			t.Errorf("%s %v, want an immunity of %s", cfg, acl[cfg], ChallengeImmunity)
		}
	}
	client := rules[RuleJoinsPerClient]
	rate := client["Statement"].(map[string]any)["RateBasedStatement"].(map[string]any)
	keys := list(rate["CustomKeys"])
	if len(keys) != 2 || keys[0]["IP"] == nil || keys[1]["JA4Fingerprint"] == nil {
		t.Errorf("per-client keys %v, want IP and JA4 fingerprint", rate["CustomKeys"])
	}
	if rate["Limit"] != float64(testSettings.WafJoinsPerMinute*JoinsPerClientFactor) || rate["EvaluationWindowSec"] != float64(60) ||
		!equalJSON(rate["ScopeDownStatement"], perAccount["ScopeDownStatement"]) {
		t.Errorf("per-client rule %v", rate)
	}
	if client["Action"].(map[string]any)["Block"].(map[string]any)["CustomResponse"].(map[string]any)["ResponseCode"] != float64(429) {
		t.Errorf("per-client rule answers %v, want 429", client["Action"])
	}
	// Rate rules count only what passed the check before them.
	for _, name := range []string{RuleJoinsPerAccount, RuleJoinsPerClient, RuleRequestsPerIP} {
		if rules[name]["Priority"].(float64) <= check["Priority"].(float64) {
			t.Errorf("%s runs before the join check", name)
		}
	}

	s := DefaultSettings()
	s.WafJoinCheck = WafJoinCaptcha
	app := awscdk.NewApp(nil)
	captcha := NewEdgeStack(app, "CaptchaEdge", &EdgeProps{Settings: s, StackProps: awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String(EdgeRegion)}}})
	rules, _ = webACLRules(t, assertions.Template_FromStack(captcha.Stack, nil))
	if a := rules[RuleJoinCheck]["Action"].(map[string]any); a["Captcha"] == nil || a["Challenge"] != nil {
		t.Errorf("at the CAPTCHA level the join check is %v, want a CAPTCHA", a)
	}
	// AND the event page, which the site reloads on a CAPTCHA, is puzzled
	// before it is served (only at that level)
	if site := rules[RuleSiteCaptcha]; site == nil || site["Action"].(map[string]any)["Captcha"] == nil {
		t.Errorf("at the CAPTCHA level the site rule is %v, want a CAPTCHA", site)
	}
	if normal, _ := webACLRules(t, edge); normal[RuleSiteCaptcha] != nil {
		t.Error("the site is puzzled at the challenge level")
	}
}

// TestAnOrganizerCanRaiseAnEventToCaptcha: GIVEN the edge stack THEN a
// CloudFront-scoped pattern set starts with the pattern that matches no
// path, AND a rule answers a join whose path is in it with a CAPTCHA, AND
// the set's ARN is an output and reaches the main stack, where the admin
// function alone may read and update that set and nothing else in WAF
// (ADR 22).
func TestAnOrganizerCanRaiseAnEventToCaptcha(t *testing.T) {
	sets := edge.FindResources(jsii.String("AWS::WAFv2::RegexPatternSet"), nil)
	var setID string
	for id, r := range *sets {
		props := (*r)["Properties"].(map[string]any)
		if props["Scope"] != "CLOUDFRONT" || !equalJSON(props["RegularExpressionList"], []any{botlevel.NoEvents}) {
			t.Errorf("pattern set %s: %v", id, props)
		}
		setID = id
	}
	if len(*sets) != 1 {
		t.Fatalf("%d pattern sets, want 1", len(*sets))
	}
	rules, _ := webACLRules(t, edge)
	rule := rules[RuleJoinCaptcha]
	if rule == nil || rule["Action"].(map[string]any)["Captcha"] == nil {
		t.Fatalf("rule %s: %v, want a CAPTCHA", RuleJoinCaptcha, rule)
	}
	stmt, _ := json.Marshal(rule["Statement"])
	if !strings.Contains(string(stmt), `"RegexPatternSetReferenceStatement":{"Arn":{"Fn::GetAtt":["`+setID+`","Arn"]}`) ||
		!strings.Contains(string(stmt), `"UriPath":{}`) || !strings.Contains(string(stmt), `"SearchString":"POST"`) {
		t.Errorf("rule %s matches %s, want POSTs whose path is in %s", RuleJoinCaptcha, stmt, setID)
	}
	expect(t, func() {
		edge.HasOutput(jsii.String("CaptchaEventsArn"), map[string]any{"Value": assertions.Match_AnyValue()})
	})
	policies := FunctionStatements(deployed)
	for _, f := range topology.Default().Functions {
		var actions []string
		var resources []string
		for _, st := range policies[f.Name] {
			for _, a := range st.Actions {
				if strings.HasPrefix(a, "wafv2:") {
					actions = append(actions, a)
					for _, r := range st.Resources {
						resources = append(resources, resourceString(r))
					}
				}
			}
		}
		env := functionEnv(t, f.Name)
		if f.Name != "admin" {
			if len(actions) > 0 || env["CAPTCHA_EVENTS_ARN"] != nil {
				t.Errorf("%s: wafv2 %v, CAPTCHA_EVENTS_ARN %v", f.Name, actions, env["CAPTCHA_EVENTS_ARN"])
			}
			continue
		}
		slices.Sort(actions)
		arn := resourceString(env["CAPTCHA_EVENTS_ARN"])
		if !slices.Equal(actions, []string{"wafv2:GetRegexPatternSet", "wafv2:UpdateRegexPatternSet"}) || len(resources) != 2 ||
			resources[0] != arn || resources[1] != arn || !strings.Contains(arn, "CaptchaEvents") {
			t.Errorf("admin: %v on %v, CAPTCHA_EVENTS_ARN %s; want Get and UpdateRegexPatternSet on the edge's CaptchaEvents set only", actions, resources, arn)
		}
	}
}

// TestServiceWorkerIsNeverCached: the fan site's service worker has a
// behavior of its own on the site's bucket that caches nothing and answers
// with the site's security headers plus Cache-Control: no-cache, so a
// deploy reaches fans' phones on their next visit (topology.ServiceWorker).
func TestServiceWorkerIsNeverCached(t *testing.T) {
	cfg := distributionConfig(t)
	def := cfg["DefaultCacheBehavior"].(map[string]any)
	var sw map[string]any
	for _, b := range list(cfg["CacheBehaviors"]) {
		if str(b["PathPattern"]) == topology.ServiceWorkerPath {
			sw = b
		}
	}
	if sw == nil {
		t.Fatalf("no behavior for %s", topology.ServiceWorkerPath)
	}
	if _, _, cached := behaviorTTL(t, sw); cached || sw["CachePolicyId"] != cachingDisabled {
		t.Errorf("%s is cached: %v", topology.ServiceWorkerPath, sw["CachePolicyId"])
	}
	if !equalJSON(sw["TargetOriginId"], def["TargetOriginId"]) {
		t.Errorf("%s comes from origin %v, not the site's %v", topology.ServiceWorkerPath, sw["TargetOriginId"], def["TargetOriginId"])
	}
	ref, ok := sw["ResponseHeadersPolicyId"].(map[string]any)
	if !ok {
		t.Fatalf("%s has no response headers policy: %v", topology.ServiceWorkerPath, sw["ResponseHeadersPolicyId"])
	}
	policy := properties(deployed, "AWS::CloudFront::ResponseHeadersPolicy")[str(ref["Ref"])]["ResponseHeadersPolicyConfig"].(map[string]any)
	custom := list(policy["CustomHeadersConfig"].(map[string]any)["Items"])
	if len(custom) != 1 || custom[0]["Header"] != "Cache-Control" || custom[0]["Value"] != topology.ServiceWorkerCacheControl || custom[0]["Override"] != true {
		t.Errorf("custom headers %v, want Cache-Control: %s", custom, topology.ServiceWorkerCacheControl)
	}
	site := properties(deployed, "AWS::CloudFront::ResponseHeadersPolicy")[str(def["ResponseHeadersPolicyId"].(map[string]any)["Ref"])]["ResponseHeadersPolicyConfig"].(map[string]any)
	if !equalJSON(policy["SecurityHeadersConfig"], site["SecurityHeadersConfig"]) {
		t.Errorf("the worker's security headers differ from the site's:\n%v\n%v", policy["SecurityHeadersConfig"], site["SecurityHeadersConfig"])
	}
}
