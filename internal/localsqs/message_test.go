package localsqs

import (
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

func TestMD5OfMessageAttributesMatchesSQS(t *testing.T) {
	str := func(s string) *string { return &s }
	// Digests SQS returned for these attributes, as recorded by other SQS
	// implementations' test suites.
	cases := []struct {
		attrs map[string]events.SQSMessageAttribute
		want  string
	}{
		{
			attrs: map[string]events.SQSMessageAttribute{
				"timestamp": {DataType: "Number", StringValue: str("1493147359900")},
			},
			want: "235c5c510d26fb653d073faed50ae77c",
		},
		{
			attrs: map[string]events.SQSMessageAttribute{
				"ordinal":  {DataType: "Number", StringValue: str("1")},
				"category": {DataType: "String", StringValue: str("test")},
			},
			want: "d21ae90c49061e927f57df5f5d72be1f",
		},
	}
	for _, c := range cases {
		if got := md5OfMessageAttributes(c.attrs); got != c.want {
			t.Errorf("md5OfMessageAttributes(%v) = %s, want %s", c.attrs, got, c.want)
		}
	}
}
