package rehearsal

import (
	"encoding/json"
	"fmt"
	"sort"
)

// Placeholder gives, for a resource type moto's CloudFormation does not
// create (NotCreatedByMoto), what a reference to such a resource becomes
// in the template the rehearsal deploys: a value of the shape AWS would
// resolve the Ref to, made from the account, Region and logical id.
//
// Only types whose references moto refuses are here. moto 5.2.1 resolves
// the Ref of a secret it did not create to nothing, and then refuses an
// IAM statement whose only resource is that Ref (MotoRefusesLoneUncreatedRef)
// and the whole deploy with it; each function may read only its own
// keyrings, so such statements exist. A secret's Ref is its ARN, which
// ends in a hyphen and six random characters.
var Placeholder = map[string]func(account, region, logicalID string) string{
	"AWS::SecretsManager::Secret": func(account, region, id string) string {
		return fmt.Sprintf("arn:aws:secretsmanager:%s:%s:secret:%s-Rhrsl0", region, account, id)
	},
}

// MotoRefusesLoneUncreatedRef is moto's answer (5.2.1) to an IAM policy
// statement whose only resource is the Ref of a resource moto does not
// create, which it resolves to nothing. WithPlaceholders keeps it from
// happening; the test names it when a deploy still fails with it.
const MotoRefusesLoneUncreatedRef = "MalformedPolicyDocument: Policy statement must contain resources"

// WithPlaceholders is the synthesized template the rehearsal deploys to
// moto: every {"Ref": id} of a resource whose type has a Placeholder is
// replaced by that placeholder. The resources themselves stay (moto skips
// them, as NotCreatedByMoto says); nothing else changes. It returns the
// new template and the logical ids whose references it replaced, sorted.
func WithPlaceholders(template []byte, account, region string) ([]byte, []string, error) {
	var doc map[string]any
	if err := json.Unmarshal(template, &doc); err != nil {
		return nil, nil, fmt.Errorf("read template: %w", err)
	}
	resources, _ := doc["Resources"].(map[string]any)
	values := map[string]string{}
	for id, r := range resources {
		typ, _ := r.(map[string]any)["Type"].(string)
		if ph, ok := Placeholder[typ]; ok {
			values[id] = ph(account, region, id)
		}
	}
	replaced := map[string]bool{}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
				if val, ok := values[ref]; ok {
					replaced[ref] = true
					return val
				}
			}
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	walk(doc)
	out, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, nil, fmt.Errorf("write template: %w", err)
	}
	ids := make([]string, 0, len(replaced))
	for id := range replaced {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return out, ids, nil
}
