package awsjson

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// Each client below is named after its service and each method after the
// operation it calls, as the SDK's are: infra/stack's access check reads
// the operations a function can reach from these names.

// SQS sends messages to Amazon SQS queues.
type SQS struct{ c *client }

// NewSQS is the SQS client of cfg (awsconf.Load with Service "SQS").
func NewSQS(cfg aws.Config) *SQS { return &SQS{newClient(cfg, sqsService)} }

// SendMessage sends body to the queue at queueURL and returns the
// message's id. The answer's MD5 of the body must match the body sent, as
// the SDK's SQS client checks.
func (s *SQS) SendMessage(ctx context.Context, queueURL, body string) (string, error) {
	var out struct {
		MessageID        string `json:"MessageId"`
		MD5OfMessageBody string `json:"MD5OfMessageBody"`
	}
	if err := s.c.call(ctx, "SendMessage", map[string]string{"QueueUrl": queueURL, "MessageBody": body}, &out); err != nil {
		return "", err
	}
	if out.MD5OfMessageBody != "" {
		sum := md5.Sum([]byte(body))
		if got := hex.EncodeToString(sum[:]); got != out.MD5OfMessageBody {
			return "", fmt.Errorf("operation error SQS: SendMessage: message body checksum %s does not match the answer's %s", got, out.MD5OfMessageBody)
		}
	}
	return out.MessageID, nil
}

// SecretsManager reads AWS Secrets Manager secrets.
type SecretsManager struct{ c *client }

// NewSecretsManager is the Secrets Manager client of cfg (awsconf.Load
// with Service "SECRETS_MANAGER").
func NewSecretsManager(cfg aws.Config) *SecretsManager {
	return &SecretsManager{newClient(cfg, secretsService)}
}

// GetSecretValue is the current string value of the secret id (a name or
// an ARN).
func (s *SecretsManager) GetSecretValue(ctx context.Context, id string) (string, error) {
	var out struct {
		SecretString string `json:"SecretString"`
	}
	err := s.c.call(ctx, "GetSecretValue", map[string]string{"SecretId": id}, &out)
	return out.SecretString, err
}

// WAF reads and updates AWS WAF (v2) regex pattern sets.
type WAF struct{ c *client }

// NewWAF is the WAF client of cfg (awsconf.Load with Service "WAFV2").
func NewWAF(cfg aws.Config) *WAF { return &WAF{newClient(cfg, wafService)} }

// Regex is one pattern of a regex pattern set.
type Regex struct {
	RegexString string `json:"RegexString"`
}

// RegexPatternSet is a regex pattern set as GetRegexPatternSet answers it.
type RegexPatternSet struct {
	Name                  string  `json:"Name"`
	ID                    string  `json:"Id"`
	ARN                   string  `json:"ARN"`
	Description           *string `json:"Description,omitempty"`
	RegularExpressionList []Regex `json:"RegularExpressionList"`
}

// ScopeCloudFront is the scope of CloudFront's WAF resources.
const ScopeCloudFront = "CLOUDFRONT"

// GetRegexPatternSet reads the set name/id in scope and its lock token.
func (w *WAF) GetRegexPatternSet(ctx context.Context, name, id, scope string) (RegexPatternSet, string, error) {
	var out struct {
		RegexPatternSet RegexPatternSet `json:"RegexPatternSet"`
		LockToken       string          `json:"LockToken"`
	}
	err := w.c.call(ctx, "GetRegexPatternSet", map[string]string{"Name": name, "Id": id, "Scope": scope}, &out)
	return out.RegexPatternSet, out.LockToken, err
}

// UpdateRegexPatternSet replaces the set's patterns and description if
// lockToken is still the set's (else the error's code is
// WAFOptimisticLockException) and returns the next lock token.
func (w *WAF) UpdateRegexPatternSet(ctx context.Context, set RegexPatternSet, scope, lockToken string) (string, error) {
	in := struct {
		Name                  string  `json:"Name"`
		Scope                 string  `json:"Scope"`
		ID                    string  `json:"Id"`
		Description           *string `json:"Description,omitempty"`
		RegularExpressionList []Regex `json:"RegularExpressionList"`
		LockToken             string  `json:"LockToken"`
	}{set.Name, scope, set.ID, set.Description, set.RegularExpressionList, lockToken}
	if in.RegularExpressionList == nil {
		in.RegularExpressionList = []Regex{}
	}
	var out struct {
		NextLockToken string `json:"NextLockToken"`
	}
	err := w.c.call(ctx, "UpdateRegexPatternSet", in, &out)
	return out.NextLockToken, err
}
