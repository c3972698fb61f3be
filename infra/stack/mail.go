package stack

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsses"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/stararena/stararena/internal/topology"
)

// MailSender is the local part of the address fans' email comes from.
const MailSender = "tickets"

// mailer is the SES side of the mail: the domain identity and the
// configuration set every message is sent with.
type mailer struct {
	identity awsses.EmailIdentity
	config   awsses.ConfigurationSet
	from     string
}

// newMail declares the domain identity (DKIM-signed; its records are
// outputs to publish) and a configuration set that suppresses addresses
// that bounced or complained, so a rush of confirmations cannot hurt the
// account's reputation.
func newMail(scope constructs.Construct, s Settings) *mailer {
	cs := awsses.NewConfigurationSet(scope, jsii.String("MailConfigurationSet"), &awsses.ConfigurationSetProps{
		SuppressionReasons: awsses.SuppressionReasons_BOUNCES_AND_COMPLAINTS,
		TlsPolicy:          awsses.ConfigurationSetTlsPolicy_REQUIRE,
	})
	id := awsses.NewEmailIdentity(scope, jsii.String("MailIdentity"), &awsses.EmailIdentityProps{
		Identity:         awsses.Identity_Domain(jsii.String(s.MailDomain)),
		ConfigurationSet: cs,
	})
	// The three CNAME records Easy DKIM needs in the domain's DNS.
	for i, rec := range [][2]*string{{id.DkimDnsTokenName1(), id.DkimDnsTokenValue1()},
		{id.DkimDnsTokenName2(), id.DkimDnsTokenValue2()}, {id.DkimDnsTokenName3(), id.DkimDnsTokenValue3()}} {
		output(scope, fmt.Sprintf("MailDkim%dName", i+1), rec[0])
		output(scope, fmt.Sprintf("MailDkim%dValue", i+1), rec[1])
	}
	return &mailer{identity: id, config: cs, from: MailSender + "@" + s.MailDomain}
}

// configurationSetArn is the configuration set's ARN, which SendEmail is
// also authorized against.
func (m *mailer) configurationSetArn() *string {
	return awscdk.Stack_Of(m.config).FormatArn(&awscdk.ArnComponents{Service: jsii.String("ses"),
		Resource: jsii.String("configuration-set"), ResourceName: m.config.ConfigurationSetName()})
}

// QueueURLEnv is the variable that gives a function the URL of a queue it
// sends to: MAIL_QUEUE_URL for the mail queue.
func QueueURLEnv(queue string) string { return strings.ToUpper(queue) + "_QUEUE_URL" }

// grantMail gives each function what its access declares: sqs:SendMessage
// on the queues it sends to, with their URLs, and ses:SendEmail on the mail
// identity and configuration set only, with the sender address, the
// configuration set's name and the site's URL (nil without a site).
func grantMail(topo topology.Topology, fns map[string]awslambda.Function, queues map[string]*queuePair, m *mailer, site *string) {
	for _, f := range topo.Functions {
		fn := fns[f.Name]
		for _, q := range f.Access.SendTo {
			qp := queues[q]
			fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
				Actions: &[]*string{jsii.String("sqs:SendMessage")}, Resources: &[]*string{qp.Queue.QueueArn()}}))
			fn.AddEnvironment(jsii.String(QueueURLEnv(q)), qp.Queue.QueueUrl(), nil)
		}
		if !f.Access.Email {
			continue
		}
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   &[]*string{jsii.String("ses:SendEmail")},
			Resources: &[]*string{m.identity.EmailIdentityArn(), m.configurationSetArn()},
		}))
		fn.AddEnvironment(jsii.String("MAIL_FROM"), jsii.String(m.from), nil)
		fn.AddEnvironment(jsii.String("MAIL_CONFIGURATION_SET"), m.config.ConfigurationSetName(), nil)
		if site != nil {
			fn.AddEnvironment(jsii.String("SITE_URL"), site, nil)
		}
	}
}
