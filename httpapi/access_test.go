package httpapi_test

import (
	"encoding/json"
	"strings"
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

// TestAccessEventsNeedAVerifiedRequest (issue 13, item 8; invariant 13): a
// gateway account — buggy, or in an attacker's hands — cannot grow a
// tenant's log with records of anonymous requests: a record for a tenant
// must name a request (from a verified grant token) of that tenant, and its
// requester if it names one; a refusal may name another tenant's request (a
// grant tried on the wrong tenant's content). Anything else is 422 and the
// whole batch records nothing. Summaries of anonymous refusals go to the
// system log.
func TestAccessEventsNeedAVerifiedRequest(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	other := e.newWorld("Globex")
	gw := e.gatewayUser()
	r := e.approved(w, "1h")
	foreign := e.request(other, "1h")
	tenantBefore, systemBefore := e.eventCount(w.tenant.ID), e.eventCount(lockbox.SystemLog)

	rec := func(id, decision string, fields ...string) map[string]any {
		m := map[string]any{"id": id, "phase": "decision", "time": "2030-05-01T09:00:00Z", "gateway": "gw-1", "tenant_id": string(w.tenant.ID),
			"method": "GET", "path": "/tenants/x/mailboxes/alice", "decision": decision, "reason": "token_missing"}
		for i := 0; i+1 < len(fields); i += 2 {
			m[fields[i]] = fields[i+1]
		}
		return m
	}
	for name, bad := range map[string]map[string]any{
		"anonymous refusal":                rec("acc_anon", "refused"),
		"anonymous allowed":                rec("acc_anon2", "allowed"),
		"made-up request":                  rec("acc_madeup", "refused", "request_id", "req_made_up"),
		"another tenant's request allowed": rec("acc_foreign", "allowed", "request_id", string(foreign.ID)),
		"someone else's request":           rec("acc_who", "refused", "request_id", string(r.ID), "requester_id", string(w.approver.ID)),
	} {
		good := rec("acc_good_"+name, "allowed", "request_id", string(r.ID), "requester_id", string(w.engineer.ID))
		rs := e.call("POST", "/v1/access-events", gw.token, map[string]any{"records": []any{good, bad}})
		if rs.Status != 422 || !strings.Contains(string(rs.Body), "verified") {
			t.Errorf("%s: %d %s", name, rs.Status, rs.Body)
		}
	}
	if n := e.eventCount(w.tenant.ID); n != tenantBefore {
		t.Fatalf("refused batches grew the tenant's log by %d", n-tenantBefore)
	}

	// 200 anonymous records in one batch change nothing either.
	var flood []any
	for i := range 200 {
		flood = append(flood, rec("acc_flood_"+itoa(i), "refused"))
	}
	if rs := e.call("POST", "/v1/access-events", gw.token, map[string]any{"records": flood}); rs.Status != 422 {
		t.Errorf("a flood of anonymous records: %d", rs.Status)
	}

	// What a gateway sends is taken: a verified refusal, one naming another
	// tenant's request (the grant was tried here), and the summary of the
	// anonymous refusals, which names no tenant.
	var out httpapi.AccessEventsOutput
	e.must(200, "POST", "/v1/access-events", gw.token, map[string]any{"records": []any{
		rec("acc_scope", "refused", "request_id", string(r.ID), "requester_id", string(w.engineer.ID), "reason", "out_of_scope"),
		rec("acc_wrong_tenant", "refused", "request_id", string(foreign.ID), "reason", "wrong_tenant"),
		map[string]any{"id": "acc_summary", "phase": "summary", "time": "2030-05-01T09:01:00Z", "since": "2030-05-01T09:00:00Z",
			"decision": "refused", "reason": "unverified_refusals", "counts": map[string]int{"token_missing": 200}, "total": 200},
	}}, &out)
	if got := eventTypes(e.events(w.tenant.ID)[tenantBefore:]); len(got) != 2 || got[0] != "access.refused" || got[1] != "access.refused" {
		t.Errorf("tenant log got %v", got)
	}
	if got := eventTypes(e.events(lockbox.SystemLog)[systemBefore:]); len(got) != 1 || got[0] != "access.unverified_summary" {
		t.Errorf("system log got %v", got)
	}
}
