package stack

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/topology"
)

func TestFansSignInWithTheCodeFlowBackToTheSite(t *testing.T) {
	// GIVEN the deployed stack WHEN its user pool clients are read: the
	// fans' and the staff's (ADR 16)
	clients := properties(deployed, "AWS::Cognito::UserPoolClient")
	if len(clients) != 2 {
		t.Fatalf("%d user pool clients, want the fans' and the staff's", len(clients))
	}
	site := func(path string) any {
		return map[string]any{"Fn::Join": []any{"", []any{"https://",
			map[string]any{"Fn::GetAtt": []any{distributionID(t), "DomainName"}}, "/" + path}}}
	}
	for id, c := range clients {
		scopes, back := []any{"openid", "email"}, []any{site("")}
		if strings.HasPrefix(id, "FanUserPoolStaffWebClient") {
			scopes, back = []any{"openid", "email", "profile"}, []any{site("console/"), site("gate/")}
		}
		// THEN the only flow is the authorization code (no implicit grant:
		// tokens never travel in a URL), for the scopes the site asks for
		if !equalJSON(c["AllowedOAuthFlows"], []any{"code"}) || c["AllowedOAuthFlowsUserPoolClient"] != true {
			t.Errorf("%s: OAuth flows %v", id, c["AllowedOAuthFlows"])
		}
		if !equalJSON(c["AllowedOAuthScopes"], scopes) {
			t.Errorf("%s: scopes %v, want %v", id, c["AllowedOAuthScopes"], scopes)
		}
		if c["GenerateSecret"] != false || !equalJSON(c["SupportedIdentityProviders"], []any{"COGNITO"}) {
			t.Errorf("%s: a browser client has no secret and signs in with the pool itself: %v, %v", id, c["GenerateSecret"], c["SupportedIdentityProviders"])
		}
		// AND fans come back to the site, staff to the console and the
		// gate page, and only there, after signing in or out
		for _, k := range []string{"CallbackURLs", "LogoutURLs"} {
			if !equalJSON(c[k], back) {
				t.Errorf("%s: %s = %v, want %v", id, k, c[k], back)
			}
		}
	}
	// AND the hosted pages have their domain, named for the account
	expect(t, func() {
		deployed.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolDomain"), map[string]any{
			"Domain":     map[string]any{"Fn::Join": []any{"", []any{"stararena-", map[string]any{"Ref": "AWS::AccountId"}}}},
			"UserPoolId": map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^FanUserPool"))},
		})
	})
	expect(t, func() {
		deployed.HasOutput(jsii.String("SignInUrl"), map[string]any{"Value": assertions.Match_AnyValue()})
	})
}

// distributionID is the logical id of the site's distribution.
func distributionID(t *testing.T) string {
	t.Helper()
	ds := properties(deployed, "AWS::CloudFront::Distribution")
	if len(ds) != 1 {
		t.Fatalf("%d distributions, want 1", len(ds))
	}
	for id := range ds {
		return id
	}
	return ""
}

func TestWithoutCloudFrontTheClientHasNoCallback(t *testing.T) {
	// GIVEN a deployment without the edge (an emulator without CloudFront)
	dir := t.TempDir()
	assets := filepath.Join(dir, "dist")
	for _, f := range topology.Default().Functions {
		writeFile(filepath.Join(assets, f.Name, "bootstrap"), "#!/bin/sh\n")
	}
	web := filepath.Join(dir, "web")
	writeFile(filepath.Join(web, "index.html"), "<!doctype html><title>StarArena</title>\n")
	ctx := *cdkJSONContext(filepath.Join(RepoRoot(), "cdk.json"))
	ctx["edge"], ctx["region"], ctx["nag"] = "off", "eu-west-1", "off"
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(filepath.Join(dir, "cdk.out"))})
	s, err := SettingsFromContext(app)
	if err != nil {
		t.Fatal(err)
	}
	NewApp(app, s, &Props{AssetDir: assets, WebDir: web})
	assembly, err := synth(app)
	if err != nil {
		t.Fatal(err)
	}
	// WHEN its user pool client is read
	tmpl := templateOf(assembly.GetStackArtifact(jsii.String(MainStackID)).Template())
	// THEN it allows no OAuth flow and names no callback: nothing can send
	// a fan's code anywhere
	for id, c := range properties(tmpl, "AWS::Cognito::UserPoolClient") {
		if c["AllowedOAuthFlowsUserPoolClient"] != false || c["AllowedOAuthFlows"] != nil || c["CallbackURLs"] != nil {
			t.Errorf("%s: flows %v (enabled %v), callbacks %v: want none", id, c["AllowedOAuthFlows"], c["AllowedOAuthFlowsUserPoolClient"], c["CallbackURLs"])
		}
	}
}
