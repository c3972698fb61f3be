package stack

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// dropRoleDependsOn removes, from the resource behind owner (a Lambda
// function or a state machine), the DependsOn on its own execution role
// that CDK's constructs add: the resource reads the role's ARN with
// Fn::GetAtt, which already orders it after the role, so AWS's linter
// reports the DependsOn as redundant (cfn-lint W3005). Every other
// dependency stays, the role's default policy above all: nothing else
// orders the resource after it, and a function or workflow must not start
// before its permissions exist.
//
// The list is computed when the template is rendered, after CDK has turned
// construct dependencies into resource ones, so a dependency added later by
// any construct is kept.
func dropRoleDependsOn(owner, role constructs.IConstruct) {
	res, ok := owner.Node().DefaultChild().(awscdk.CfnResource)
	if !ok {
		panic(fmt.Sprintf("stack: %s has no CloudFormation resource", *owner.Node().Path()))
	}
	roleRes, ok := role.Node().DefaultChild().(awscdk.CfnResource)
	if !ok {
		panic(fmt.Sprintf("stack: %s has no CloudFormation resource", *role.Node().Path()))
	}
	res.AddOverride(jsii.String("DependsOn"), awscdk.Lazy_Any(&dependsOnWithout{res: res, drop: *roleRes.Node().Path()}, nil))
}

// dependsOnWithout produces res's DependsOn list minus one resource.
type dependsOnWithout struct {
	res  awscdk.CfnResource
	drop string
}

func (p *dependsOnWithout) Produce() any {
	type dep struct {
		path string
		id   *string
	}
	var deps []dep
	dropped := false
	for _, d := range *p.res.ObtainDependencies() {
		r, ok := d.(awscdk.CfnResource)
		if !ok {
			panic(fmt.Sprintf("stack: %s depends on %T, not a resource of its stack", *p.res.Node().Path(), d))
		}
		if path := *r.Node().Path(); path != p.drop {
			deps = append(deps, dep{path, r.LogicalId()})
		} else {
			dropped = true
		}
	}
	if !dropped || len(deps) == 0 {
		// Either CDK no longer adds the dependency, or nothing would be
		// left (CloudFormation refuses an empty DependsOn): both mean this
		// call is out of date.
		panic(fmt.Sprintf("stack: %s: expected a DependsOn on its role %s besides others, got %d others (dropped: %v)", *p.res.Node().Path(), p.drop, len(deps), dropped))
	}
	sort.Slice(deps, func(i, j int) bool { return strings.Compare(deps[i].path, deps[j].path) < 0 })
	ids := make([]*string, len(deps))
	for i, d := range deps {
		ids[i] = d.id
	}
	return ids
}
