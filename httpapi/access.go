package httpapi

import (
	"bytes"
	"encoding/json"

	"github.com/lockbox-dev/lockbox"
)

// AccessEventsInput is the body of POST /v1/access-events: the records of
// an enforcement point (package gateway's AccessRecord, gateway/doc.go).
type AccessEventsInput struct {
	Records []json.RawMessage `json:"records"`
}

// AccessEventsOutput answers it: how many of the records are recorded.
type AccessEventsOutput struct {
	Recorded int `json:"recorded"`
}

// recordFields are the fields the server files a record by; every other
// field is the record's content, kept and never judged.
type recordFields struct {
	ID          string `json:"id"`
	TenantID    string `json:"tenant_id"`
	RequestID   string `json:"request_id"`
	RequesterID string `json:"requester_id"`
	Phase       string `json:"phase"`
	Decision    string `json:"decision"`
}

// accessRecords checks the shape of the records (objects whose filing
// fields are strings, an id in each) and decodes them; a malformed body is
// a 400 and records nothing.
func accessRecords(in *AccessEventsInput) ([]lockbox.AccessRecord, error) {
	if in.Records == nil {
		return nil, lockbox.Errorf(lockbox.CodeBadRequest, `records is required: {"records": [ … ]}`)
	}
	out := make([]lockbox.AccessRecord, len(in.Records))
	for i, raw := range in.Records {
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 || raw[0] != '{' {
			return nil, lockbox.Errorf(lockbox.CodeBadRequest, "records[%d] must be an object", i)
		}
		var f recordFields
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, lockbox.Errorf(lockbox.CodeBadRequest, "records[%d]: %s", i, describeJSONError(err))
		}
		if f.ID == "" {
			return nil, lockbox.Errorf(lockbox.CodeBadRequest, "records[%d].id is required", i)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		data := map[string]any{}
		if err := dec.Decode(&data); err != nil {
			return nil, lockbox.Errorf(lockbox.CodeBadRequest, "records[%d]: %s", i, describeJSONError(err))
		}
		out[i] = lockbox.AccessRecord{ID: f.ID, TenantID: lockbox.TenantID(f.TenantID), RequestID: lockbox.RequestID(f.RequestID),
			RequesterID: lockbox.UserID(f.RequesterID), Phase: f.Phase, Decision: f.Decision, Data: data}
	}
	return out, nil
}
