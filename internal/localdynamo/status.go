package localdynamo

import (
	"encoding/json"
	"net/http"
)

// withTableStatus adds TableStatus ACTIVE to a CreateTable or DescribeTable
// answer of minidyn, which reports none (its indexes it does report
// ACTIVE). DynamoDB says CREATING until a table takes requests and ACTIVE
// after; a table here takes requests as soon as it exists, so ACTIVE is
// the truth, and it lets CreateTables wait for ACTIVE against every server.
func withTableStatus(status int, out []byte) (int, []byte) {
	if status != http.StatusOK {
		return status, out
	}
	var body map[string]map[string]json.RawMessage
	if err := json.Unmarshal(out, &body); err != nil {
		return status, out
	}
	changed := false
	for _, field := range []string{"Table", "TableDescription"} {
		d, ok := body[field]
		if !ok || d == nil {
			continue
		}
		if s, ok := d["TableStatus"]; !ok || string(s) == `""` || string(s) == "null" {
			d["TableStatus"] = json.RawMessage(`"ACTIVE"`)
			changed = true
		}
	}
	if !changed {
		return status, out
	}
	b, err := json.Marshal(body)
	if err != nil {
		return status, out
	}
	return status, b
}

// describesTable reports whether op answers with a table description that
// withTableStatus completes.
func describesTable(op string) bool { return op == "DescribeTable" || op == "CreateTable" }
