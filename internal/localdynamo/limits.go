package localdynamo

import (
	"encoding/base64"
	"encoding/json"
)

// DynamoDB's item and request limits. minidyn accepts anything, so code
// that writes a 460 KB item or a 30-item batch would pass locally and fail
// in AWS; the front refuses what AWS refuses, with AWS's error type. The
// item-size and item-count messages are AWS's (as moto and DynamoDB Local
// repeat them); the two aggregate-size messages name the limit, since code
// must not parse messages anyway.
const (
	MaxItemBytes             = 400 * 1024
	MaxBatchWriteItems       = 25
	MaxBatchWriteBytes       = 16 << 20
	MaxTransactWriteItems    = 100
	MaxTransactWriteBytes    = 4 << 20
	msgItemTooLarge          = "Item size has exceeded the maximum allowed size"
	msgBatchWriteTooMany     = "Too many items requested for the BatchWriteItem call"
	msgTransactTooMany       = "1 validation error detected at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100"
	msgBatchWriteTooLarge    = "Item collection of the BatchWriteItem request exceeds the maximum request size of 16 MB"
	msgTransactWriteTooLarge = "Transaction size has exceeded the maximum allowed size of 4 MB"
)

// checkLimits returns the ValidationException AWS answers when a write
// breaks an item or request limit, or nil. Requests it cannot parse are
// left to the server behind, which answers them as it does.
func checkLimits(op string, body []byte) *TxError {
	invalid := func(msg string) *TxError { return &TxError{"ValidationException", msg} }
	switch op {
	case "PutItem":
		var in struct{ Item map[string]json.RawMessage }
		if json.Unmarshal(body, &in) == nil && ItemSize(in.Item) > MaxItemBytes {
			return invalid(msgItemTooLarge)
		}
	case "BatchWriteItem":
		var in batchWriteBody
		if json.Unmarshal(body, &in) != nil {
			return nil
		}
		count, total := 0, 0
		for _, reqs := range in.RequestItems {
			for _, r := range reqs {
				count++
				switch {
				case r.PutRequest != nil:
					size := ItemSize(r.PutRequest.Item)
					if size > MaxItemBytes {
						return invalid(msgItemTooLarge)
					}
					total += size
				case r.DeleteRequest != nil:
					total += ItemSize(r.DeleteRequest.Key)
				}
			}
		}
		if count > MaxBatchWriteItems {
			return invalid(msgBatchWriteTooMany)
		}
		if total > MaxBatchWriteBytes {
			return invalid(msgBatchWriteTooLarge)
		}
	case "TransactWriteItems":
		var in struct {
			TransactItems []map[string]struct {
				Item                      map[string]json.RawMessage
				Key                       map[string]json.RawMessage
				ExpressionAttributeValues map[string]json.RawMessage
			}
		}
		if json.Unmarshal(body, &in) != nil {
			return nil
		}
		if len(in.TransactItems) > MaxTransactWriteItems {
			return invalid(msgTransactTooMany)
		}
		total := 0
		for _, ti := range in.TransactItems {
			for _, a := range ti {
				size := ItemSize(a.Item)
				if size > MaxItemBytes {
					return invalid(msgItemTooLarge)
				}
				total += size + ItemSize(a.Key) + ItemSize(a.ExpressionAttributeValues)
			}
		}
		if total > MaxTransactWriteBytes {
			return invalid(msgTransactWriteTooLarge)
		}
	}
	return nil
}

// ItemSize is an item's size as DynamoDB counts it against the 400 KB
// limit: each attribute's name in UTF-8 bytes plus its value's size.
func ItemSize(item map[string]json.RawMessage) int {
	n := 0
	for name, v := range item {
		n += len(name) + valueSize(v)
	}
	return n
}

// valueSize follows DynamoDB's item size rules: strings and binaries their
// length in bytes, numbers about one byte per two digits plus one, null and
// booleans one byte, lists and maps three bytes plus one per element plus
// their elements (and, for maps, the names).
func valueSize(v json.RawMessage) int {
	var av map[string]json.RawMessage
	if json.Unmarshal(v, &av) != nil {
		return len(v)
	}
	size := 0
	for typ, val := range av {
		switch typ {
		case "S":
			var s string
			_ = json.Unmarshal(val, &s)
			size += len(s)
		case "N":
			var s string
			_ = json.Unmarshal(val, &s)
			size += (len(s)+1)/2 + 1
		case "B":
			size += binarySize(val)
		case "BOOL", "NULL":
			size++
		case "SS", "NS":
			var ss []string
			_ = json.Unmarshal(val, &ss)
			for _, s := range ss {
				if typ == "NS" {
					size += (len(s)+1)/2 + 1
				} else {
					size += len(s)
				}
			}
		case "BS":
			var bs []json.RawMessage
			_ = json.Unmarshal(val, &bs)
			for _, b := range bs {
				size += binarySize(b)
			}
		case "L":
			var l []json.RawMessage
			_ = json.Unmarshal(val, &l)
			size += 3
			for _, e := range l {
				size += 1 + valueSize(e)
			}
		case "M":
			var m map[string]json.RawMessage
			_ = json.Unmarshal(val, &m)
			size += 3
			for k, e := range m {
				size += 1 + len(k) + valueSize(e)
			}
		default:
			size += len(val)
		}
	}
	return size
}

func binarySize(val json.RawMessage) int {
	var s string
	if json.Unmarshal(val, &s) != nil {
		return len(val)
	}
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return len(b)
	}
	return len(s)
}
