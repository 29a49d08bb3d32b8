package httpapi_test

import (
	"encoding/json"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"

	"github.com/lockbox-dev/lockbox"
)

// approved files a request as the world's engineer and takes it through
// internal and customer approval.
func (e *env) approved(w *world, d string) *lockbox.AccessRequest {
	e.t.Helper()
	r := e.request(w, d)
	e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, r)
	e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"}, r)
	if r.Status != lockbox.StatusApproved {
		e.t.Fatalf("request is %s, want approved", r.Status)
	}
	return r
}

// tokenClaims verifies a grant token with go-jose against the served JWKS,
// as any third party would, and returns its claims.
func (e *env) tokenClaims(tok string) (josejwt.Claims, map[string]any) {
	e.t.Helper()
	var set jose.JSONWebKeySet
	e.must(200, "GET", "/.well-known/jwks.json", "", nil, &set)
	parsed, err := josejwt.ParseSigned(tok, []jose.SignatureAlgorithm{jose.EdDSA})
	if err != nil {
		e.t.Fatal(err)
	}
	var std josejwt.Claims
	custom := map[string]any{}
	if err := parsed.Claims(set, &std, &custom); err != nil {
		e.t.Fatalf("the token does not verify against the JWKS: %v", err)
	}
	return std, custom
}

func TestGrantTokenInvariant1(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")

	t.Run("issued to the requester inside the window", func(t *testing.T) {
		e := e.withT(t)
		r := e.approved(w, "2h")
		var g lockbox.GrantToken
		e.must(201, "POST", reqPath(r.ID, "token"), w.engineer.token, nil, &g)
		now := e.clock.Now()
		if g.Token == "" || g.ExpiresAt.After(now.Add(15*time.Minute)) || g.ExpiresAt.Before(now.Add(14*time.Minute)) {
			t.Fatalf("token expires at %v (now %v)", g.ExpiresAt, now)
		}
		std, custom := e.tokenClaims(g.Token)
		if std.Subject != string(w.engineer.ID) || custom["request"] != string(r.ID) || custom["tenant"] != string(w.tenant.ID) ||
			!std.Audience.Contains("lockbox-gateway") || !std.Expiry.Time().Equal(g.ExpiresAt) {
			t.Fatalf("claims %+v %+v", std, custom)
		}
		evs := e.events(w.tenant.ID)
		last := evs[len(evs)-1]
		if last.Type != lockbox.EventTokenIssued || last.RequestID != r.ID || last.ActorID != w.engineer.ID {
			t.Fatalf("last event %+v, want token.issued", last)
		}
		var data map[string]any
		if err := json.Unmarshal(last.Data, &data); err != nil || data["jti"] != std.ID || data["requester_id"] != string(w.engineer.ID) {
			t.Fatalf("token.issued data %s (jti %s)", last.Data, std.ID)
		}
	})

	t.Run("never outlives the window", func(t *testing.T) {
		e := e.withT(t)
		r := e.approved(w, "10m")
		e.clock.Advance(7 * time.Minute)
		var g lockbox.GrantToken
		e.must(201, "POST", reqPath(r.ID, "token"), w.engineer.token, nil, &g)
		r = e.getRequest(w, r.ID)
		if g.ExpiresAt.After(*r.AccessExpiresAt) {
			t.Fatalf("token expires at %v, after the window end %v", g.ExpiresAt, r.AccessExpiresAt)
		}
		std, _ := e.tokenClaims(g.Token)
		if std.Expiry.Time().After(*r.AccessExpiresAt) {
			t.Fatalf("exp %v after the window end %v", std.Expiry.Time(), r.AccessExpiresAt)
		}
		// Once the window elapsed: settled as completed, refused.
		e.clock.Advance(4 * time.Minute)
		before := e.eventCount(w.tenant.ID)
		rs := e.call("POST", reqPath(r.ID, "token"), w.engineer.token, nil)
		if rs.Status != 409 {
			t.Fatalf("token after the window: %d %s", rs.Status, rs.Body)
		}
		evs := e.events(w.tenant.ID)
		if len(evs) != before+1 || evs[len(evs)-1].Type != lockbox.EventRequestCompleted {
			t.Fatalf("after the window: events %v", eventTypes(evs[before:]))
		}
	})

	t.Run("only the requester", func(t *testing.T) {
		e := e.withT(t)
		r := e.approved(w, "1h")
		other := e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}})
		before := e.eventCount(w.tenant.ID)
		for _, tok := range []string{other.token, w.lead.token, w.opAdmin.token, w.approver.token, w.customerAdmin.token, e.admin} {
			if rs := e.call("POST", reqPath(r.ID, "token"), tok, nil); rs.Status != 403 {
				t.Errorf("non-requester: %d %s", rs.Status, rs.Body)
			}
		}
		if rs := e.call("POST", reqPath(r.ID, "token"), "", nil); rs.Status != 401 {
			t.Errorf("anonymous: %d", rs.Status)
		}
		if n := e.eventCount(w.tenant.ID); n != before {
			t.Fatalf("refusals appended %d events", n-before)
		}
	})

	t.Run("never for a request that is not approved", func(t *testing.T) {
		e := e.withT(t)
		refuse := func(name string, r *lockbox.AccessRequest) {
			t.Helper()
			before := e.eventCount(w.tenant.ID)
			if rs := e.call("POST", reqPath(r.ID, "token"), w.engineer.token, nil); rs.Status != 409 {
				t.Errorf("%s: %d %s", name, rs.Status, rs.Body)
			}
			if n := e.eventCount(w.tenant.ID); n != before {
				t.Errorf("%s: the refusal appended %d events", name, n-before)
			}
		}
		pending := e.request(w, "1h")
		refuse("pending_internal", pending)
		e.must(200, "POST", reqPath(pending.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, pending)
		refuse("pending_customer", pending)

		denied := e.request(w, "1h")
		e.must(200, "POST", reqPath(denied.ID, "deny"), w.lead.token, lockbox.ReasonInput{Reason: "no"}, nil)
		refuse("denied", denied)

		canceled := e.request(w, "1h")
		e.must(200, "POST", reqPath(canceled.ID, "cancel"), w.engineer.token, nil, nil)
		refuse("canceled", canceled)

		revoked := e.approved(w, "1h")
		e.must(200, "POST", reqPath(revoked.ID, "revoke"), w.approver.token, lockbox.ReasonInput{Reason: "done"}, nil)
		refuse("revoked", revoked)

		completed := e.approved(w, "1h")
		e.must(200, "POST", reqPath(completed.ID, "complete"), w.engineer.token, nil, nil)
		refuse("completed", completed)

		expired := e.request(w, "1h")
		e.clock.Advance(13 * time.Hour) // past the default 12 h pending TTL
		w.engineer.token = e.loginMFA(w.engineer)
		if rs := e.call("POST", reqPath(expired.ID, "token"), w.engineer.token, nil); rs.Status != 409 {
			t.Errorf("expired: %d %s", rs.Status, rs.Body)
		}
		if got := e.getRequest(w, expired.ID); got.Status != lockbox.StatusExpired {
			t.Errorf("request is %s, want expired", got.Status)
		}
		refuse("expired", expired)
	})
}
