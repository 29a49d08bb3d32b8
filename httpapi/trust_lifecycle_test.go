package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/gateway"
	"github.com/lockbox-dev/lockbox/grant"
)

// enforcement is an enforcement point in process that follows the real
// server's revocation feed (GET /v1/revocations and its stream) with a
// gateway account, as `lockbox gateway` does.
type enforcement struct {
	e      *env
	tenant lockbox.TenantID
	mw     http.Handler
	feed   *gateway.Feed
}

func (e *env) enforcement(t *testing.T, w *world, sampleToken string) *enforcement {
	e.t.Helper()
	gw := e.gatewayUser()
	keys, err := grant.NewRemoteKeys(grant.RemoteKeysConfig{URL: e.http.URL + grant.JWKSPath})
	if err != nil {
		e.t.Fatal(err)
	}
	verifier, err := grant.NewVerifier(grant.VerifierConfig{Issuer: tokenIssuer(t, sampleToken), Keys: keys, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	feed, err := gateway.NewFeed(gateway.FeedConfig{Server: e.http.URL, Token: gw.token, MaxTokenTTL: 15 * time.Minute,
		Logger: e.srv.Config.Logger, Now: e.clock.Now})
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = feed.Run(ctx) }()
	e.t.Cleanup(func() { cancel(); <-done })
	routes, err := gateway.ParseRoutes("routes.json", []byte(`[{"method":"GET","path":"/tenants/{tenant}/mailboxes/{mailbox}","tenant":"{tenant}","resource":"mailbox:{mailbox}"}]`))
	if err != nil {
		e.t.Fatal(err)
	}
	mw := gateway.Middleware(gateway.MiddlewareConfig{Resolver: routes, Verifier: verifier, Revocations: feed, Recorder: memRecorder{},
		Gateway: "lifecycle-test", Now: e.clock.Now, Logger: e.srv.Config.Logger})(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	en := &enforcement{e: e, tenant: w.tenant.ID, mw: mw, feed: feed}
	deadline := time.Now().Add(10 * time.Second)
	for feed.Ready() != nil {
		if time.Now().After(deadline) {
			e.t.Fatalf("the feed never became ready: %v", feed.Ready())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return en
}

// read reads alice's mailbox with a grant token and answers the status.
func (en *enforcement) read(token string) (int, string) {
	req := httptest.NewRequest("GET", "/tenants/"+string(en.tenant)+"/mailboxes/alice", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	en.mw.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

// refusedWithinASecond waits up to a second (real time) for the token to be
// refused as ended.
func (en *enforcement) refusedWithinASecond(t *testing.T, token string) {
	t.Helper()
	start := time.Now()
	for {
		code, body := en.read(token)
		if code == http.StatusForbidden && strings.Contains(body, gateway.ReasonEnded) {
			return
		}
		if time.Since(start) > time.Second {
			t.Fatalf("the grant still reads (%d %s) a second after its requester lost the right", code, body)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// grantToken obtains a grant token as the requester.
func (e *env) grantToken(u *user, id lockbox.RequestID) string {
	e.t.Helper()
	var tok lockbox.GrantToken
	e.must(201, "POST", reqPath(id, "token"), u.token, nil, &tok)
	return tok.Token
}

// checkEndedBecause checks that a request ended with the status and reason,
// is on the revocation feed, and (for revocations) is notified like any
// revocation: the access_revoked notifications are queued.
func (e *env) checkEndedBecause(w *world, id lockbox.RequestID, status lockbox.RequestStatus, reason string) {
	e.t.Helper()
	r := &lockbox.AccessRequest{}
	e.must(200, "GET", reqPath(id), e.admin, nil, r)
	if r.Status != status || r.EndReason != reason || r.EndedAt == nil {
		e.t.Fatalf("request %s is %s (%s), want %s (%s)", id, r.Status, r.EndReason, status, reason)
	}
	evs := requestEvents(e.events(w.tenant.ID), id)
	if len(evs) == 0 || evs[len(evs)-1] != "request."+string(status) {
		e.t.Fatalf("request %s events %v: want the last to be request.%s", id, evs, status)
	}
	if status != lockbox.StatusRevoked {
		return
	}
	gw := e.gatewayUser()
	items, _ := e.feed(gw.token, "", 100)
	onFeed := false
	for _, it := range items {
		onFeed = onFeed || (it.RequestID == id && it.Status == lockbox.StatusRevoked)
	}
	if !onFeed {
		e.t.Fatalf("request %s is not on the revocation feed: %+v", id, items)
	}
	notified := false
	for _, n := range e.notifications(id, e.admin) {
		notified = notified || (n.Kind == lockbox.NotifyRevoked && n.Recipient == w.approver.Email)
	}
	if !notified {
		e.t.Fatalf("the approver is not told of the revocation of %s: %+v", id, e.notifications(id, e.admin))
	}
}

// TestRemovedEngineerLosesAccess (issue 13 item 3, invariant 12): the
// operator admin removes an engineer who holds approved access. The grant
// is revoked in the same change (end_reason requester_removed), the
// enforcement point following the feed refuses its token within a second,
// the approvers are told, and the engineer's pending request is canceled.
func TestRemovedEngineerLosesAccess(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	approved := e.approved(w, "1h")
	pending := e.request(w, "1h")
	tok := e.grantToken(w.engineer, approved.ID)
	en := e.enforcement(t, w, tok)
	if code, body := en.read(tok); code != http.StatusOK {
		t.Fatalf("before the removal the grant reads: %d %s", code, body)
	}

	e.must(204, "DELETE", "/v1/users/"+string(w.engineer.ID), e.admin, nil, nil)

	en.refusedWithinASecond(t, tok)
	e.checkEndedBecause(w, approved.ID, lockbox.StatusRevoked, lockbox.EndRequesterRemoved)
	e.checkEndedBecause(w, pending.ID, lockbox.StatusCanceled, lockbox.EndRequesterRemoved)
	// The removed engineer's credentials are gone: no new token.
	e.must(401, "POST", reqPath(approved.ID, "token"), w.engineer.token, nil, nil)
}

// TestDemotedEngineerLosesAccess: the operator admin takes the engineer
// role away (the user stays, as an operator admin). Its approved access is
// revoked (requester_role_removed), its pending requests are canceled, and
// it can mint no grant token.
func TestDemotedEngineerLosesAccess(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	approved := e.approved(w, "1h")
	pending := e.request(w, "1h")
	tok := e.grantToken(w.engineer, approved.ID)
	en := e.enforcement(t, w, tok)
	if code, body := en.read(tok); code != http.StatusOK {
		t.Fatalf("before the demotion the grant reads: %d %s", code, body)
	}

	roles := []lockbox.Role{lockbox.RoleOperatorAdmin}
	e.must(200, "PATCH", "/v1/users/"+string(w.engineer.ID), e.admin, lockbox.UpdateUserInput{Roles: &roles}, nil)

	en.refusedWithinASecond(t, tok)
	e.checkEndedBecause(w, approved.ID, lockbox.StatusRevoked, lockbox.EndRequesterRoleRemoved)
	e.checkEndedBecause(w, pending.ID, lockbox.StatusCanceled, lockbox.EndRequesterRoleRemoved)
	if r := e.call("POST", reqPath(approved.ID, "token"), w.engineer.token, nil); r.Status < 400 {
		t.Fatalf("the demoted engineer obtained a grant token: %d %s", r.Status, r.Body)
	}
	// A change that keeps the engineer role ends nothing.
	other := e.requestFor(w.lead, w.ticket.ID, "1h")
	groups := []string{"oncall"}
	e.must(200, "PATCH", "/v1/users/"+string(w.lead.ID), e.admin, lockbox.UpdateUserInput{Groups: &groups}, nil)
	if r := e.getRequest(w, other.ID); r.Status != lockbox.StatusPendingInternal {
		t.Fatalf("a change of someone else ended the request: %s %s", r.Status, r.EndReason)
	}
}

// TestTokenIssueRechecksTheRole: even if a requester lost the engineer role
// by a path that ended nothing (here a change written to the store
// directly, as a database edit or a future code path would), token issue
// refuses: it checks the requester's role, not only the request.
func TestTokenIssueRechecksTheRole(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	approved := e.approved(w, "1h")
	e.grantToken(w.engineer, approved.ID)
	ctx := context.Background()
	err := e.srv.Service.Store().Update(ctx, func(tx lockbox.Tx) error {
		u, err := tx.GetUser(ctx, w.engineer.ID)
		if err != nil {
			return err
		}
		u.Roles = []lockbox.Role{lockbox.RoleOperatorAdmin}
		return tx.UpdateUser(ctx, u)
	})
	if err != nil {
		t.Fatal(err)
	}
	r := e.must(403, "POST", reqPath(approved.ID, "token"), w.engineer.token, nil, nil)
	if !strings.Contains(string(r.Body), "engineer") {
		t.Fatalf("the refusal does not say why: %s", r.Body)
	}
}

// TestRemovedApproverNoLongerCounts (invariant 12): with two customer
// approvals required, an approval by an approver who is then removed, or
// demoted to member, does not count when the next approval arrives.
func TestRemovedApproverNoLongerCounts(t *testing.T) {
	for _, how := range []string{"removed", "demoted"} {
		t.Run(how, func(t *testing.T) {
			e := newEnv(t).withT(t)
			w := e.newWorld("Contoso")
			two := 2
			e.setLockbox(w, lockbox.LockboxPatch{ApprovalsRequired: &two})
			second := e.customer(w, lockbox.RoleLockboxApprover)
			third := e.customer(w, lockbox.RoleLockboxApprover)
			r := e.request(w, "1h")
			e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, r)
			e.must(200, "POST", reqPath(r.ID, "approve"), w.approver.token, lockbox.ApproveInput{Reason: "ok"}, r)
			if how == "removed" {
				e.must(204, "DELETE", "/v1/users/"+string(w.approver.ID), w.customerAdmin.token, nil, nil)
			} else {
				roles := []lockbox.Role{lockbox.RoleMember}
				e.must(200, "PATCH", "/v1/users/"+string(w.approver.ID), w.customerAdmin.token, lockbox.UpdateUserInput{Roles: &roles}, nil)
			}
			e.must(200, "POST", reqPath(r.ID, "approve"), second.token, lockbox.ApproveInput{Reason: "ok"}, r)
			if r.Status != lockbox.StatusPendingCustomer {
				t.Fatalf("the %s approver's approval still counted: the request is %s", how, r.Status)
			}
			e.must(200, "POST", reqPath(r.ID, "approve"), third.token, lockbox.ApproveInput{Reason: "ok"}, r)
			if r.Status != lockbox.StatusApproved {
				t.Fatalf("two current approvers approved, the request is %s", r.Status)
			}
		})
	}
}

// TestRemovedInternalApproverNoLongerCounts: with a policy asking two
// support leads, a lead's approval stops counting once the lead leaves the
// group, or is removed.
func TestRemovedInternalApproverNoLongerCounts(t *testing.T) {
	path := t.TempDir() + "/two-leads.cedar"
	if err := os.WriteFile(path, []byte(`@id("two-leads")
@approvers("support-leads:2")
permit (principal, action, resource);
`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"removed", "left the group", "became a service account"} {
		t.Run(how, func(t *testing.T) {
			e := newEnvWith(t, func(c *app.Config) { c.PolicyFile = path }).withT(t)
			w := e.newWorld("Contoso")
			lead2 := e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
			lead3 := e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleEngineer}, Groups: []string{"support-leads"}})
			r := e.request(w, "1h")
			e.must(200, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, r)
			switch how {
			case "removed":
				e.must(204, "DELETE", "/v1/users/"+string(w.lead.ID), e.admin, nil, nil)
			case "became a service account":
				// Still in the group, but only a gateway account: a
				// service account never decides.
				roles := []lockbox.Role{lockbox.RoleGateway}
				e.must(200, "PATCH", "/v1/users/"+string(w.lead.ID), e.admin, lockbox.UpdateUserInput{Roles: &roles}, nil)
			default:
				groups := []string{}
				e.must(200, "PATCH", "/v1/users/"+string(w.lead.ID), e.admin, lockbox.UpdateUserInput{Groups: &groups}, nil)
			}
			e.must(200, "POST", reqPath(r.ID, "approve"), lead2.token, lockbox.ApproveInput{Reason: "ok"}, r)
			if r.Status != lockbox.StatusPendingInternal {
				t.Fatalf("the lead who %s still counted: the request is %s", how, r.Status)
			}
			e.must(200, "POST", reqPath(r.ID, "approve"), lead3.token, lockbox.ApproveInput{Reason: "ok"}, r)
			if r.Status != lockbox.StatusPendingCustomer {
				t.Fatalf("two current leads approved, the request is %s", r.Status)
			}
		})
	}
}

// TestReviewRechecksTheRequester: a request filed while its requester was
// being demoted (the demotion listed the requester's requests before this
// one committed) is not approved later: the next review finds the requester
// can no longer hold access and cancels it instead (409).
func TestReviewRechecksTheRequester(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Contoso")
	r := e.request(w, "1h")
	ctx := context.Background()
	err := e.srv.Service.Store().Update(ctx, func(tx lockbox.Tx) error {
		u, err := tx.GetUser(ctx, w.engineer.ID)
		if err != nil {
			return err
		}
		u.Roles = []lockbox.Role{lockbox.RoleOperatorAdmin}
		return tx.UpdateUser(ctx, u)
	})
	if err != nil {
		t.Fatal(err)
	}
	e.must(409, "POST", reqPath(r.ID, "approve"), w.lead.token, lockbox.ApproveInput{Reason: "ok"}, nil)
	e.checkEndedBecause(w, r.ID, lockbox.StatusCanceled, lockbox.EndRequesterRoleRemoved)
}
