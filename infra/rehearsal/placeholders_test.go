package rehearsal

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestWithPlaceholdersReplacesOnlyRefsOfUncreatedResources: a Ref of a
// secret (a type moto does not create) becomes the secret's placeholder
// ARN wherever it stands; a Ref of a resource moto creates, a GetAtt and
// the secret itself stay as they were.
func TestWithPlaceholdersReplacesOnlyRefsOfUncreatedResources(t *testing.T) {
	in := []byte(`{"Resources":{
	 "Keys":{"Type":"AWS::SecretsManager::Secret","Properties":{"Name":"keys"}},
	 "Table":{"Type":"AWS::DynamoDB::Table","Properties":{}},
	 "Policy":{"Type":"AWS::IAM::Policy","Properties":{"PolicyDocument":{"Statement":[
	   {"Action":"secretsmanager:GetSecretValue","Resource":{"Ref":"Keys"}},
	   {"Action":"dynamodb:GetItem","Resource":[{"Fn::GetAtt":["Table","Arn"]},{"Ref":"Table"}]}]}}},
	 "Fn":{"Type":"AWS::Lambda::Function","Properties":{"Environment":{"Variables":{"KEYS":{"Ref":"Keys"},"TABLE":{"Ref":"Table"}}}}}}}`)
	out, ids, err := WithPlaceholders(in, "123456789012", "eu-west-1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"Keys"}) {
		t.Errorf("replaced references to %v, want [Keys]", ids)
	}
	var doc struct {
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	const arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:Keys-Rhrsl0"
	policy, _ := json.Marshal(doc.Resources["Policy"].Properties)
	want := `{"PolicyDocument":{"Statement":[{"Action":"secretsmanager:GetSecretValue","Resource":"` + arn + `"},` +
		`{"Action":"dynamodb:GetItem","Resource":[{"Fn::GetAtt":["Table","Arn"]},{"Ref":"Table"}]}]}}`
	if string(policy) != want {
		t.Errorf("policy\n%s\nwant\n%s", policy, want)
	}
	env, _ := json.Marshal(doc.Resources["Fn"].Properties)
	if string(env) != `{"Environment":{"Variables":{"KEYS":"`+arn+`","TABLE":{"Ref":"Table"}}}}` {
		t.Errorf("function environment %s", env)
	}
	if k := doc.Resources["Keys"]; k.Type != "AWS::SecretsManager::Secret" || k.Properties["Name"] != "keys" {
		t.Errorf("the secret itself changed: %+v", k)
	}
	for typ := range Placeholder {
		if _, listed := NotCreatedByMoto[typ]; !listed {
			t.Errorf("Placeholder has %s, which NotCreatedByMoto does not list", typ)
		}
	}
}
