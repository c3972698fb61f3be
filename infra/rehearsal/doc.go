// Package rehearsal holds the deploy rehearsal: its test deploys the main
// stack through the pinned cdklocal into a moto_server of its own
// (scripts/moto-deploy.sh, `make moto-deploy`) and reads what
// CloudFormation created back through the AWS SDK, against the topology.
// The template it deploys is the synthesized one with references to the
// resources moto cannot create replaced by placeholders (WithPlaceholders).
package rehearsal

// NotCreatedByMoto lists the resource types of the main stack that moto
// 5.2's CloudFormation does not create, with the reason. moto accepts the
// template, reports the stack CREATE_COMPLETE and leaves these out of it
// (it has no CloudFormation model for them), so a rehearsal on moto proves
// nothing about them; the test fails when one of them appears in the stack
// (the entry is stale) or when a resource of any other type is missing.
var NotCreatedByMoto = map[string]string{
	"AWS::ApiGatewayV2::Api":         "moto has no CloudFormation model for HTTP APIs (API Gateway v2)",
	"AWS::ApiGatewayV2::Authorizer":  "moto has no CloudFormation model for HTTP APIs (API Gateway v2)",
	"AWS::ApiGatewayV2::Integration": "moto has no CloudFormation model for HTTP APIs (API Gateway v2)",
	"AWS::ApiGatewayV2::Route":       "moto has no CloudFormation model for HTTP APIs (API Gateway v2)",
	"AWS::ApiGatewayV2::Stage":       "moto has no CloudFormation model for HTTP APIs (API Gateway v2)",
	"AWS::CloudWatch::Alarm":         "moto's CloudFormation models dashboards but not alarms",
	"AWS::Cognito::UserPool":         "moto has no CloudFormation model for Cognito user pools",
	"AWS::Cognito::UserPoolClient":   "moto has no CloudFormation model for Cognito user pools",
	"AWS::Cognito::UserPoolDomain":   "moto has no CloudFormation model for Cognito user pools",
	"AWS::Cognito::UserPoolGroup":    "moto has no CloudFormation model for Cognito user pools",
	"AWS::SecretsManager::Secret":    "moto has no CloudFormation model for Secrets Manager secrets",
	"AWS::S3::BucketPolicy":          "moto has no CloudFormation model for bucket policies",
	"AWS::SNS::TopicPolicy":          "moto has no CloudFormation model for topic policies",
	"AWS::SQS::QueuePolicy":          "moto has no CloudFormation model for queue policies",
	"AWS::CDK::Metadata":             "CDK's version report; moto skips it",
}

// IgnoredByMoto lists properties ("Type.Property") that moto 5.2's
// CloudFormation accepts and drops: the resource exists but without them.
// The test checks that each is still dropped (else the entry is stale) and
// checks what it can of the property in the template instead.
var IgnoredByMoto = map[string]string{
	"AWS::StepFunctions::StateMachine.DefinitionSubstitutions": "moto stores DefinitionString as written: the tasks keep ${Function_<name>} instead of the function ARNs",
	"AWS::StepFunctions::StateMachine.LoggingConfiguration":    "moto reports logging level OFF whatever the template sets",
	"AWS::StepFunctions::StateMachine.TracingConfiguration":    "moto reports X-Ray tracing disabled whatever the template sets",
}
