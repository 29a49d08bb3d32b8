package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/httpapi"
)

// gatewayUser creates an operator service account with only the gateway role.
func (e *env) gatewayUser() *user {
	e.t.Helper()
	return e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleGateway}})
}

// feed reads the whole revocation feed after a cursor, page by page.
func (e *env) feed(token, after string, limit int) ([]httpapi.RevocationItem, string) {
	e.t.Helper()
	var all []httpapi.RevocationItem
	for {
		var page httpapi.RevocationPage
		e.must(200, "GET", "/v1/revocations?after="+after+"&limit="+itoa(limit), token, nil, &page)
		if len(page.Items) == 0 {
			if page.Next != after {
				e.t.Fatalf("empty page after %s has next %s", after, page.Next)
			}
			return all, after
		}
		if page.Next != page.Items[len(page.Items)-1].Cursor {
			e.t.Fatalf("next %s is not the last item's cursor", page.Next)
		}
		all = append(all, page.Items...)
		after = page.Next
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestRevocationFeed(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	gw := e.gatewayUser()

	var empty httpapi.RevocationPage
	e.must(200, "GET", "/v1/revocations", gw.token, nil, &empty)
	if len(empty.Items) != 0 || empty.Next != "c_0" {
		t.Fatalf("empty feed: %+v", empty)
	}

	revoked := e.approved(w, "1h")
	e.must(200, "POST", reqPath(revoked.ID, "revoke"), w.approver.token, lockbox.ReasonInput{Reason: "enough"}, nil)
	released := e.approved(w, "1h")
	e.must(200, "POST", reqPath(released.ID, "complete"), w.engineer.token, nil, nil)
	elapsed := e.approved(w, "10m")
	e.clock.Advance(11 * time.Minute)
	e.getRequest(w, elapsed.ID) // settles it
	e.must(200, "POST", "/v1/tickets/"+string(w.ticket.ID)+"/resolve", w.member.token, nil, nil)

	all, head := e.feed(gw.token, "", 1)
	want := map[lockbox.RequestID]lockbox.RequestStatus{revoked.ID: lockbox.StatusRevoked, released.ID: lockbox.StatusCompleted, elapsed.ID: lockbox.StatusCompleted}
	if len(all) != len(want) {
		t.Fatalf("feed has %d items, want %d: %+v", len(all), len(want), all)
	}
	for i, it := range all {
		if want[it.RequestID] != it.Status || it.TenantID != w.tenant.ID || it.EndedAt.IsZero() {
			t.Errorf("item %d: %+v", i, it)
		}
		if it.Cursor != "c_"+itoa(i+1) {
			t.Errorf("item %d has cursor %s: the feed must be total and gap-free", i, it.Cursor)
		}
	}
	if all[0].RequestID != revoked.ID || head != all[len(all)-1].Cursor {
		t.Fatalf("order or head: %+v head %s", all, head)
	}
	// The same in one page, and an operator may read it too.
	if again, _ := e.feed(w.engineer.token, "c_0", 1000); len(again) != len(all) {
		t.Fatalf("one page: %d items", len(again))
	}
	if more, _ := e.feed(gw.token, head, 10); len(more) != 0 {
		t.Fatalf("after the head: %+v", more)
	}

	// Bad input is a 4xx.
	for path, status := range map[string]int{
		"/v1/revocations?after=42":  400,
		"/v1/revocations?after=c_x": 400,
		"/v1/revocations?limit=0":   422,
		"/v1/revocations?limit=x":   400,
		"/v1/revocations?since=yes": 400,
		"/v1/revocations?other=1":   400,
	} {
		if rs := e.call("GET", path, gw.token, nil); rs.Status != status {
			t.Errorf("GET %s: %d, want %d", path, rs.Status, status)
		}
	}
	// Customers do not read it.
	for _, u := range []*user{w.approver, w.customerAdmin, w.member} {
		if rs := e.call("GET", "/v1/revocations", u.token, nil); rs.Status != 403 {
			t.Errorf("customer reads the feed: %d", rs.Status)
		}
		if rs := e.call("GET", "/v1/revocations/stream", u.token, nil); rs.Status != 403 {
			t.Errorf("customer reads the stream: %d", rs.Status)
		}
	}
}

func TestGatewayRoleReadsTheFeedAndNothingElse(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	gw := e.gatewayUser()
	r := e.approved(w, "1h")
	e.must(200, "GET", "/v1/revocations", gw.token, nil, nil)
	tn := "/v1/tenants/" + string(w.tenant.ID)
	for _, c := range []struct{ method, path string }{
		{"GET", "/v1/requests"}, {"GET", reqPath(r.ID)}, {"POST", reqPath(r.ID, "token")},
		{"POST", reqPath(r.ID, "revoke")}, {"POST", reqPath(r.ID, "approve")},
		{"GET", "/v1/tickets"}, {"GET", "/v1/tickets/" + string(w.ticket.ID)},
		{"GET", "/v1/tenants"}, {"GET", tn}, {"GET", tn + "/events"}, {"GET", tn + "/lockbox"},
		{"GET", tn + "/log/checkpoint"}, {"GET", "/v1/users"}, {"POST", "/v1/tenants"},
	} {
		rs := e.call(c.method, c.path, gw.token, map[string]any{})
		if rs.Status != 403 && rs.Status != 404 && rs.Status != 400 && rs.Status != 422 {
			t.Errorf("gateway %s %s: %d %s", c.method, c.path, rs.Status, rs.Body)
		}
		if rs.Status/100 == 2 {
			t.Errorf("gateway %s %s succeeded", c.method, c.path)
		}
	}
	if rs := e.call("GET", "/v1/requests", gw.token, nil); rs.Status != 403 {
		t.Errorf("gateway lists requests: %d", rs.Status)
	}
}

func TestRevocationStream(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	gw := e.gatewayUser()
	first := e.approved(w, "1h")
	e.must(200, "POST", reqPath(first.ID, "revoke"), w.approver.token, lockbox.ReasonInput{Reason: "enough"}, nil)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.http.URL+"/v1/revocations/stream?after=c_0", nil)
	req.Header.Set("Authorization", "Bearer "+gw.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	items := make(chan httpapi.RevocationItem, 10)
	go func() {
		sc := bufio.NewScanner(res.Body)
		var id, event string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "id: "):
				id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "event: "):
				event = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				var it httpapi.RevocationItem
				if json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &it) != nil || event != "revocation" || it.Cursor != id {
					t.Errorf("bad event %q (id %s, event %s)", line, id, event)
				}
				items <- it
			}
		}
		close(items)
	}()
	next := func(within time.Duration) httpapi.RevocationItem {
		t.Helper()
		select {
		case it, ok := <-items:
			if !ok {
				t.Fatal("the stream closed")
			}
			return it
		case <-time.After(within):
			t.Fatalf("no revocation within %s", within)
		}
		return httpapi.RevocationItem{}
	}
	if it := next(5 * time.Second); it.RequestID != first.ID || it.Cursor != "c_1" {
		t.Fatalf("backlog: %+v", it)
	}
	second := e.approved(w, "1h")
	start := time.Now()
	e.must(200, "POST", reqPath(second.ID, "revoke"), w.customerAdmin.token, lockbox.ReasonInput{Reason: "stop"}, nil)
	it := next(time.Second)
	if it.RequestID != second.ID || it.Status != lockbox.StatusRevoked || it.Cursor != "c_2" {
		t.Fatalf("live item: %+v", it)
	}
	t.Logf("revocation streamed in %s", time.Since(start))
}
