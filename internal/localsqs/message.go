package localsqs

import (
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

const maxMessageAttributes = 10

// validateMessage applies SendMessage's checks and returns the size SQS
// counts against the limit: body plus attribute names, types and values.
func validateMessage(body string, attrs map[string]string, maxSize int) (int, error) {
	if body == "" {
		return 0, fmt.Errorf("%w: empty body", ErrInvalidMessage)
	}
	if err := checkChars(body); err != nil {
		return 0, fmt.Errorf("%w: body %w", ErrInvalidMessage, err)
	}
	if len(attrs) > maxMessageAttributes {
		return 0, fmt.Errorf("%w: %d message attributes, at most %d", ErrInvalidMessage, len(attrs), maxMessageAttributes)
	}
	size := len(body)
	for name, value := range attrs {
		if err := checkAttributeName(name); err != nil {
			return 0, fmt.Errorf("%w: attribute %q: %w", ErrInvalidMessage, name, err)
		}
		if value == "" {
			return 0, fmt.Errorf("%w: attribute %q: empty value", ErrInvalidMessage, name)
		}
		if err := checkChars(value); err != nil {
			return 0, fmt.Errorf("%w: attribute %q: value %w", ErrInvalidMessage, name, err)
		}
		size += len(name) + len("String") + len(value)
	}
	if size > maxSize {
		return 0, fmt.Errorf("%w: %d bytes with attributes, more than %d", ErrInvalidMessage, size, maxSize)
	}
	return size, nil
}

// checkChars allows the characters SQS accepts in bodies and attribute
// values; anything else (most control characters, invalid UTF-8) is
// rejected by the real service.
func checkChars(s string) error {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return fmt.Errorf("has invalid UTF-8 at byte %d", i)
			}
		}
		switch {
		case r == 0x9, r == 0xA, r == 0xD,
			r >= 0x20 && r <= 0xD7FF,
			r >= 0xE000 && r <= 0xFFFD,
			r >= 0x10000 && r <= 0x10FFFF:
		default:
			return fmt.Errorf("has character %U, not allowed by SQS, at byte %d", r, i)
		}
	}
	return nil
}

func checkAttributeName(name string) error {
	if name == "" || len(name) > 256 {
		return errors.New("name must be 1 to 256 characters")
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return errors.New("name may hold only letters, digits, hyphens, underscores and periods")
		}
	}
	lower := strings.ToLower(name)
	switch {
	case strings.HasPrefix(lower, "aws."), strings.HasPrefix(lower, "amazon."):
		return errors.New("name uses a prefix reserved by AWS")
	case strings.HasPrefix(name, "."), strings.HasSuffix(name, "."), strings.Contains(name, ".."):
		return errors.New("name may not start or end with a period or hold two in a row")
	}
	return nil
}

// newMessageID returns a random UUID, the form SQS message ids take.
func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// newReceiptHandle returns an opaque handle, different for every receive.
func newReceiptHandle() string {
	var b [48]byte
	_, _ = rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

func md5Hex(b []byte) string {
	sum := md5.Sum(b)
	return hex.EncodeToString(sum[:])
}

// md5OfMessageAttributes is SQS's digest of message attributes: for each
// attribute in name order, the length-prefixed (4-byte big-endian) name,
// data type, a transport byte (1 for strings, 2 for binary), and the
// length-prefixed value.
func md5OfMessageAttributes(attrs map[string]events.SQSMessageAttribute) string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	field := func(b []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		field([]byte(n))
		field([]byte(a.DataType))
		if a.StringValue != nil {
			h.Write([]byte{1})
			field([]byte(*a.StringValue))
		} else {
			h.Write([]byte{2})
			field(a.BinaryValue)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
