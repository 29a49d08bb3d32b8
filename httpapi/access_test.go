package httpapi_test

import (
	"encoding/json"
	"testing"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/httpapi"
)

func TestAccessEvents(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	gw := e.gatewayUser()
	r := e.approved(w, "1h")
	tenantBefore := e.eventCount(w.tenant.ID)
	systemBefore := e.eventCount(lockbox.SystemLog)

	rec := func(id, phase, decision, tenant string) map[string]any {
		return map[string]any{"id": id, "phase": phase, "time": "2030-05-01T09:00:00.123456Z", "gateway": "gw-1",
			"tenant_id": tenant, "request_id": string(r.ID), "requester_id": string(w.engineer.ID), "token_id": "grt_x",
			"method": "GET", "path": "/tenants/x/mailboxes/alice", "resource": "mailbox:alice", "level": "read",
			"decision": decision, "reason": "granted", "status": 200, "bytes": 5120, "future_field": []any{1.5, "x"}}
	}
	batch := map[string]any{"records": []any{
		rec("acc_1", "decision", "allowed", string(w.tenant.ID)),
		rec("acc_2", "completed", "allowed", string(w.tenant.ID)),
		rec("acc_3", "decision", "refused", ""),
		rec("acc_4", "decision", "refused", "ten_does_not_exist"),
		rec("acc_5", "decision", "something new", string(w.tenant.ID)),
	}}
	var out httpapi.AccessEventsOutput
	e.must(200, "POST", "/v1/access-events", gw.token, batch, &out)
	if out.Recorded != 5 {
		t.Fatalf("recorded %d, want 5", out.Recorded)
	}
	tenantEvents := e.events(w.tenant.ID)[tenantBefore:]
	if got := eventTypes(tenantEvents); len(got) != 3 || got[0] != "access.allowed" || got[1] != "access.completed" || got[2] != "access.recorded" {
		t.Fatalf("tenant log got %v", got)
	}
	var data map[string]any
	if err := json.Unmarshal(tenantEvents[0].Data, &data); err != nil || data["id"] != "acc_1" || data["bytes"] != 5120.0 ||
		tenantEvents[0].RequestID != r.ID || tenantEvents[0].ActorID != gw.ID {
		t.Fatalf("event %+v data %s", tenantEvents[0], tenantEvents[0].Data)
	}
	systemEvents := e.events(lockbox.SystemLog)[systemBefore:]
	if got := eventTypes(systemEvents); len(got) != 2 || got[0] != "access.refused" || got[1] != "access.refused" {
		t.Fatalf("system log got %v", got)
	}

	// Sent again (a lost answer): recorded, not appended twice.
	e.must(200, "POST", "/v1/access-events", gw.token, batch, &out)
	if out.Recorded != 5 || e.eventCount(w.tenant.ID) != tenantBefore+3 || e.eventCount(lockbox.SystemLog) != systemBefore+2 {
		t.Fatalf("resent batch: recorded %d, logs grew", out.Recorded)
	}
	e.must(200, "POST", "/v1/access-events", gw.token, map[string]any{"records": []any{}}, &out)
	if out.Recorded != 0 {
		t.Fatalf("empty batch recorded %d", out.Recorded)
	}

	// Malformed bodies are 400 and record nothing.
	for _, body := range []string{
		`{}`, `{"records": null}`, `{"records": {}}`, `{"records": [1]}`, `{"records": ["x"]}`,
		`{"records": [{"phase": "decision"}]}`, `{"records": [{"id": 7}]}`, `{"records": [{"id": ""}]}`,
		`{"records": [{"id": "acc_9", "tenant_id": 3}]}`, `{"records": [{"id": "a\u0000b"}]}`,
		`{"records": [], "extra": 1}`, `{"records": [{"id": "acc_9"}]`, `[]`,
	} {
		if rs := e.call("POST", "/v1/access-events", gw.token, body); rs.Status != 400 {
			t.Errorf("%s: %d %s", body, rs.Status, rs.Body)
		}
	}
	if e.eventCount(w.tenant.ID) != tenantBefore+3 || e.eventCount(lockbox.SystemLog) != systemBefore+2 {
		t.Fatal("a malformed body recorded something")
	}
	// Only gateway accounts record.
	for _, tok := range []string{e.admin, w.engineer.token, w.approver.token, w.customerAdmin.token} {
		if rs := e.call("POST", "/v1/access-events", tok, map[string]any{"records": []any{rec("acc_x", "decision", "allowed", string(w.tenant.ID))}}); rs.Status != 403 {
			t.Errorf("non-gateway records: %d", rs.Status)
		}
	}
}
