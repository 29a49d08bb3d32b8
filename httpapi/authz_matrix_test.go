package httpapi_test

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
)

// The authorization matrix (issue 9): every operation of the API, called
// by every kind of caller, on an object of the caller's own tenant and on
// one of another tenant, with the expected answer of each cell written
// down once, in authzExpect. A cell passes when the answer has the
// expected class: "ok" is any answer that shows the caller got past
// authorization (2xx, or 400/409/422 about the input or the state), and a
// refusal is the exact status (401, 403 or 404). An unexpected allow is
// the failure this test exists for; an unexpected refusal fails too, so the
// table stays true.

// Callers of the matrix.
const (
	asOpAdmin   = "op_admin"   // operator_admin, MFA
	asEngineer  = "engineer"   // engineer, the requester of the tenant's request
	asLead      = "lead"       // engineer in support-leads (internal approver group)
	asGateway   = "gateway"    // gateway service account (API token)
	asCustAdmin = "cust_admin" // the tenant's tenant_admin, MFA
	asApprover  = "approver"   // the tenant's lockbox_approver, MFA
	asMember    = "member"     // the tenant's member
	asOtherCust = "other_cust" // tenant_admin of another tenant, MFA
	asNobody    = "nobody"     // no Authorization header
	asExpired   = "expired"    // a session that expired

	// The same people on sessions signed in with their password alone
	// (issue 13: a password alone must never do what needs a second
	// factor).
	asOpAdminPwd   = "op_admin_pwd"
	asEngineerPwd  = "engineer_pwd"
	asLeadPwd      = "lead_pwd"
	asCustAdminPwd = "cust_admin_pwd"
	asApproverPwd  = "approver_pwd"
	asMemberPwd    = "member_pwd"
)

var authzCallers = []string{asOpAdmin, asEngineer, asLead, asGateway, asCustAdmin, asApprover, asMember, asOtherCust, asNobody, asExpired,
	asOpAdminPwd, asEngineerPwd, asLeadPwd, asCustAdminPwd, asApproverPwd, asMemberPwd}

// authzTarget is what the matrix acts on in one tenant.
type authzTarget struct {
	w       *world
	ticket  *lockbox.Ticket
	request *lockbox.AccessRequest
}

func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	e := newEnvWith(t, func(c *app.Config) {
		c.Throttle = lockbox.ThrottleLimits{PerAccountAddress: 1000, PerAddress: 10000, CodesPerAccount: 1000}
	})
	a := e.newWorld("Own")
	b := e.newWorld("Foreign")
	gw := e.createUser(e.admin, lockbox.CreateUserInput{Kind: lockbox.KindOperator, Roles: []lockbox.Role{lockbox.RoleGateway}})
	var gwToken struct{ Token string }
	e.must(201, "POST", "/v1/users/"+string(gw.ID)+"/tokens", e.admin, map[string]any{"name": "gw"}, &gwToken)

	// An expired session: signed in now, then the clock passes its end,
	// and everyone else signs in again.
	expired := e.loginMFA(a.member)
	e.clock.Advance(13 * time.Hour)
	for _, w := range []*world{a, b} {
		for _, u := range []*user{w.customerAdmin, w.approver, w.member, w.engineer, w.lead, w.opAdmin} {
			u.token = e.loginMFA(u)
		}
	}
	tokens := map[string]string{
		asOpAdmin: a.opAdmin.token, asEngineer: a.engineer.token, asLead: a.lead.token, asGateway: gwToken.Token,
		asCustAdmin: a.customerAdmin.token, asApprover: a.approver.token, asMember: a.member.token,
		asOtherCust: b.customerAdmin.token, asNobody: "", asExpired: expired,
	}
	// The people behind the session tokens, for the operations that need a
	// session of their own (logout ends the one it is called with).
	people := map[string]*user{
		asOpAdmin: a.opAdmin, asEngineer: a.engineer, asLead: a.lead, asCustAdmin: a.customerAdmin,
		asApprover: a.approver, asMember: a.member, asOtherCust: b.customerAdmin,
	}
	passwordOnly := map[string]*user{
		asOpAdminPwd: a.opAdmin, asEngineerPwd: a.engineer, asLeadPwd: a.lead, asCustAdminPwd: a.customerAdmin,
		asApproverPwd: a.approver, asMemberPwd: a.member,
	}
	for caller, u := range passwordOnly {
		tokens[caller] = e.loginPassword(u)
	}
	targets := map[bool]*authzTarget{true: {w: a}, false: {w: b}}

	// The request actions depend on the request's stage: approve and deny
	// run on a request awaiting internal approval and on one awaiting the
	// customer; complete, revoke and token on approved access.
	type variant struct {
		op    apiOperation
		name  string
		state lockbox.RequestStatus
	}
	var variants []variant
	for _, op := range e.apiOperations() {
		if strings.HasSuffix(op.Path, "/stream") {
			continue
		}
		name := op.Method + " " + op.Path
		switch {
		case strings.HasSuffix(op.Path, "/approve"), strings.HasSuffix(op.Path, "/deny"):
			variants = append(variants, variant{op, name + " @internal", lockbox.StatusPendingInternal}, variant{op, name + " @customer", lockbox.StatusPendingCustomer})
		case strings.HasSuffix(op.Path, "/complete"), strings.HasSuffix(op.Path, "/revoke"), strings.HasSuffix(op.Path, "/token"):
			variants = append(variants, variant{op, name + " @approved", lockbox.StatusApproved})
		default:
			variants = append(variants, variant{op, name, lockbox.StatusPendingInternal})
		}
	}
	got := map[string]map[string]string{}
	for _, v := range variants {
		got[v.name] = map[string]string{}
		for _, caller := range authzCallers {
			var cell [2]string
			for i, own := range []bool{true, false} {
				tg := targets[own]
				// A fresh ticket, request and user per cell, so that what
				// one caller did (resolve, revoke, delete) does not decide
				// the next caller's answer.
				tg.ticket = e.newTicket(tg.w, "matrix")
				tg.request = e.requestFor(tg.w.engineer, tg.ticket.ID, "2h")
				if v.state != lockbox.StatusPendingInternal {
					e.approveInternal(tg.w, tg.request)
				}
				if v.state == lockbox.StatusApproved {
					e.approveCustomer(tg.w, tg.request)
				}
				victim := &lockbox.User{}
				e.must(201, "POST", "/v1/users", tg.w.customerAdmin.token, lockbox.CreateUserInput{Email: lockbox.NewID("v") + "@matrix.example", DisplayName: "Victim",
					Kind: lockbox.KindCustomer, TenantID: tg.w.tenant.ID, Roles: []lockbox.Role{lockbox.RoleMember}}, victim)
				ids := map[string]string{"tenant": string(tg.w.tenant.ID), "request": string(tg.request.ID), "ticket": string(tg.ticket.ID), "user": string(victim.ID)}
				if strings.Contains(v.op.Path, "{token}") {
					ids["invitation"] = e.invitationToken(victim.Email)
				}
				path, _ := fillPath(v.op.Path, ids)
				path += authzQuery(v.op, tg)
				token := tokens[caller]
				if v.name == "POST /v1/auth/logout" && people[caller] != nil {
					token = e.loginMFA(people[caller])
				}
				if v.name == "POST /v1/auth/logout" && passwordOnly[caller] != nil {
					token = e.loginPassword(passwordOnly[caller])
				}
				res := e.call(v.op.Method, path, token, authzBody(v.op, tg))
				cell[i] = fmt.Sprint(res.Status)
				switch {
				case res.Status < 300, res.Status == 400, res.Status == 409, res.Status == 422:
					cell[i] = "ok"
				}
			}
			got[v.name][caller] = cell[0] + "/" + cell[1]
		}
	}
	if os.Getenv("LOCKBOX_PRINT_AUTHZ") != "" {
		printAuthzTable(got)
	}
	want := parseAuthzTable(t, authzExpect)
	cells, unexpectedAllows := 0, 0
	for name, row := range got {
		wantRow, ok := want[name]
		if !ok {
			t.Errorf("%s: not in authzExpect; add its row (got %v)", name, row)
			continue
		}
		for _, caller := range authzCallers {
			g, w := strings.Split(row[caller], "/"), strings.Split(wantRow[caller], "/")
			for i, side := range []string{"own tenant", "foreign tenant"} {
				cells++
				if g[i] == w[i] {
					continue
				}
				if g[i] == "ok" {
					unexpectedAllows++
					t.Errorf("UNEXPECTED ALLOW: %s by %s on the %s: answered %s, want %s", name, caller, side, g[i], w[i])
				} else {
					t.Errorf("%s by %s on the %s: answered %s, want %s", name, caller, side, g[i], w[i])
				}
			}
		}
	}
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("authzExpect has %s, which the API does not document", name)
		}
	}
	t.Logf("%d cells (%d operations x %d callers x own and foreign tenant), %d unexpected allows", cells, len(got), len(authzCallers), unexpectedAllows)
}

// printAuthzTable prints got in authzExpect's form, for a reviewer to
// compare (LOCKBOX_PRINT_AUTHZ=1): a table is reviewed cell by cell, never
// pasted unread.
func printAuthzTable(got map[string]map[string]string) {
	names := make([]string, 0, len(got))
	for n := range got {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Printf("%-52s", "#")
	for _, c := range authzCallers {
		fmt.Printf(" %-14s", c)
	}
	fmt.Println()
	for _, n := range names {
		fmt.Printf("%-52s", n)
		for _, c := range authzCallers {
			fmt.Printf(" %-14s", got[n][c])
		}
		fmt.Println()
	}
}

// parseAuthzTable reads authzExpect: a header line naming the callers,
// then one line per operation with a cell "own/foreign" per caller.
func parseAuthzTable(t *testing.T, text string) map[string]map[string]string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(text), "\n")
	header := strings.Fields(lines[0])[1:]
	if strings.Join(header, " ") != strings.Join(authzCallers, " ") {
		t.Fatalf("authzExpect's columns %v are not the callers %v", header, authzCallers)
	}
	out := map[string]map[string]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		name := strings.Join(f[:len(f)-len(header)], " ")
		row := map[string]string{}
		for i, c := range header {
			cell := f[len(f)-len(header)+i]
			if len(strings.Split(cell, "/")) != 2 {
				t.Fatalf("authzExpect: %s: cell %q of %s is not own/foreign", name, cell, c)
			}
			row[c] = cell
		}
		out[name] = row
	}
	return out
}

// authzExpect is the expected answer of every cell. Columns are callers,
// cells are "own tenant/foreign tenant": the tenant's own objects (tenant
// A, whose people the customer callers are, except other_cust, the admin
// of tenant B) and tenant B's. "ok" means authorized (2xx, or 400, 409 or
// 422 about the input or the state); a status means refused with it. The
// request actions run on a request at the stage named after "@"; others on
// a request awaiting internal approval. Notes on cells that may surprise:
//
//   - Operators (op_admin) cannot create, change or delete customer users,
//     nor mint API tokens for them, nor change lockbox settings or rotate
//     webhook secrets, nor review: invariant 10 and docs/design.md §1.
//   - A customer's objects in another tenant answer 404, never 403: their
//     existence is not disclosed.
//   - Only the requester (engineer) cancels, completes or takes a token;
//     only support-leads (lead) review internally; only the tenant's
//     admins and approvers review at the customer stage or revoke; an
//     operator admin may revoke too.
//   - The gateway account records accesses and reads the revocation feed;
//     the rest is refused. Its POST /v1/me/totp is 403 because its API
//     token is not an MFA session while TOTP is on (a state answer like any
//     other user's).
//   - The invitation operations are public: the token of the link is the
//     credential, so every caller holding it gets past (each cell invites
//     a fresh user and uses its link). Re-inviting or withdrawing an
//     invitation is the tenant's admins' (operators: only a tenant's admin
//     while it has none active, and operator users).
//   - The *_pwd callers are the same people on sessions signed in with the
//     password alone. They differ from the MFA sessions exactly where a
//     second factor is needed: approving at the customer stage, changing
//     lockbox settings, rotating webhook secrets, managing users,
//     replacing a second factor (POST /v1/me/totp) and filing a request
//     (the default JIT policy asks for MFA), and approving at either
//     stage: a support lead's password alone approves nothing internally
//     either. Denying and revoking only reduce access and need none.
//   - POST /v1/auth/login is public; the body's wrong password is what
//     answers 401, for everyone.
//   - POST /v1/auth/logout acts on the caller's own session, so "own" and
//     "foreign" are the same; each cell signs the caller in anew and logs
//     that session out (the shared tokens of the other cells live on). The
//     gateway's API token is not a session: its 422 counts as "ok" (past
//     authorization, refused on the state of the credential).
const authzExpect = `
#                                                    op_admin       engineer       lead           gateway        cust_admin     approver       member         other_cust     nobody         expired        op_admin_pwd   engineer_pwd   lead_pwd       cust_admin_pwd approver_pwd   member_pwd
DELETE /v1/users/{id}                                403/403        404/404        404/404        404/404        ok/404         403/404        403/404        404/ok         401/401        401/401        403/403        404/404        404/404        403/404        403/404        403/404
DELETE /v1/users/{id}/invitation                     403/403        404/404        404/404        404/404        ok/404         403/404        403/404        404/ok         401/401        401/401        403/403        404/404        404/404        403/404        403/404        403/404
GET /.well-known/jwks.json                           ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok
GET /v1/admin/policy                                 ok/ok          ok/ok          ok/ok          403/403        403/403        403/403        403/403        403/403        401/401        401/401        ok/ok          ok/ok          ok/ok          403/403        403/403        403/403
GET /v1/invitations/{token}                          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok
GET /v1/log/key                                      ok/ok          ok/ok          ok/ok          403/403        ok/ok          ok/ok          403/403        ok/ok          401/401        401/401        ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          403/403
GET /v1/me                                           ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          401/401        401/401        ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok
GET /v1/requests                                     ok/ok          ok/ok          ok/ok          403/403        ok/404         ok/404         403/403        404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         403/403
GET /v1/requests/{id}                                ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         403/404
GET /v1/requests/{id}/notifications                  ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         403/404
GET /v1/revocations                                  ok/ok          ok/ok          ok/ok          ok/ok          403/403        403/403        403/403        403/403        401/401        401/401        ok/ok          ok/ok          ok/ok          403/403        403/403        403/403
GET /v1/tenants                                      ok/ok          ok/ok          ok/ok          403/403        ok/ok          ok/ok          ok/ok          ok/ok          401/401        401/401        ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok
GET /v1/tenants/{id}                                 ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         ok/404         404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         ok/404
GET /v1/tenants/{id}/events                          ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         403/404
GET /v1/tenants/{id}/lockbox                         ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         403/404
GET /v1/tenants/{id}/log/checkpoint                  ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         403/404
GET /v1/tenants/{id}/log/entries                     ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         403/404
GET /v1/tenants/{id}/log/proofs/consistency          ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         403/404
GET /v1/tenants/{id}/log/proofs/inclusion            ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         403/404
GET /v1/tickets                                      ok/ok          ok/ok          ok/ok          403/403        ok/404         ok/404         ok/404         404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         ok/404
GET /v1/tickets/{id}                                 ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         ok/404         404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         ok/404
GET /v1/users                                        ok/ok          403/403        403/403        403/403        ok/404         ok/404         403/403        404/ok         401/401        401/401        ok/ok          403/403        403/403        ok/404         ok/404         403/403
GET /v1/users/{id}                                   ok/ok          404/404        404/404        404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          404/404        404/404        ok/404         ok/404         403/404
PATCH /v1/tenants/{id}/lockbox                       403/403        403/403        403/403        404/404        ok/404         403/404        403/404        404/ok         401/401        401/401        403/403        403/403        403/403        403/404        403/404        403/404
PATCH /v1/users/{id}                                 403/403        404/404        404/404        404/404        ok/404         403/404        403/404        404/ok         401/401        401/401        403/403        404/404        404/404        403/404        403/404        403/404
POST /v1/access-events                               403/403        403/403        403/403        ok/ok          403/403        403/403        403/403        403/403        401/401        401/401        403/403        403/403        403/403        403/403        403/403        403/403
POST /v1/admin/policy/reload                         ok/ok          403/403        403/403        403/403        403/403        403/403        403/403        403/403        401/401        401/401        ok/ok          403/403        403/403        403/403        403/403        403/403
POST /v1/auth/login                                  401/401        401/401        401/401        401/401        401/401        401/401        401/401        401/401        401/401        401/401        401/401        401/401        401/401        401/401        401/401        401/401
POST /v1/auth/logout                                 ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          401/401        401/401        ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok
POST /v1/invitations/{token}/accept                  ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok
POST /v1/invitations/{token}/totp                    ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok
POST /v1/me/totp                                     ok/ok          ok/ok          ok/ok          403/403        ok/ok          ok/ok          ok/ok          ok/ok          401/401        401/401        403/403        403/403        403/403        403/403        403/403        403/403
POST /v1/me/totp/verify                              ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          401/401        401/401        ok/ok          ok/ok          ok/ok          ok/ok          ok/ok          ok/ok
POST /v1/requests                                    403/403        ok/ok          ok/ok          403/403        403/403        403/403        403/403        403/403        401/401        401/401        403/403        403/403        403/403        403/403        403/403        403/403
POST /v1/requests/{id}/approve @customer             403/403        403/403        403/403        404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        403/403        403/403        403/403        403/404        403/404        403/404
POST /v1/requests/{id}/approve @internal             403/403        403/403        ok/ok          404/404        403/404        403/404        403/404        404/403        401/401        401/401        403/403        403/403        403/403        403/404        403/404        403/404
POST /v1/requests/{id}/cancel                        403/403        ok/403         403/403        404/404        403/404        403/404        403/404        404/403        401/401        401/401        403/403        ok/403         403/403        403/404        403/404        403/404
POST /v1/requests/{id}/complete @approved            403/403        ok/403         403/403        404/404        403/404        403/404        403/404        404/403        401/401        401/401        403/403        ok/403         403/403        403/404        403/404        403/404
POST /v1/requests/{id}/deny @customer                403/403        403/403        403/403        404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        403/403        403/403        403/403        ok/404         ok/404         403/404
POST /v1/requests/{id}/deny @internal                403/403        403/403        ok/ok          404/404        403/404        403/404        403/404        404/403        401/401        401/401        403/403        403/403        ok/ok          403/404        403/404        403/404
POST /v1/requests/{id}/revoke @approved              ok/ok          403/403        403/403        404/404        ok/404         ok/404         403/404        404/ok         401/401        401/401        ok/ok          403/403        403/403        ok/404         ok/404         403/404
POST /v1/requests/{id}/token @approved               403/403        ok/403         403/403        404/404        403/404        403/404        403/404        404/403        401/401        401/401        403/403        ok/403         403/403        403/404        403/404        403/404
POST /v1/tenants                                     ok/ok          403/403        403/403        403/403        403/403        403/403        403/403        403/403        401/401        401/401        ok/ok          403/403        403/403        403/403        403/403        403/403
POST /v1/tenants/{id}/lockbox/webhooks/rotate        403/403        403/403        403/403        404/404        ok/404         403/404        403/404        404/ok         401/401        401/401        403/403        403/403        403/403        403/404        403/404        403/404
POST /v1/tickets                                     ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         ok/404         404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         ok/404
POST /v1/tickets/{id}/comments                       ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         ok/404         404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         ok/404
POST /v1/tickets/{id}/resolve                        ok/ok          ok/ok          ok/ok          404/404        ok/404         ok/404         ok/404         404/ok         401/401        401/401        ok/ok          ok/ok          ok/ok          ok/404         ok/404         ok/404
POST /v1/users                                       403/403        403/403        403/403        404/404        ok/404         403/404        403/404        404/ok         401/401        401/401        403/403        403/403        403/403        403/404        403/404        403/404
POST /v1/users/{id}/invitation                       403/403        404/404        404/404        404/404        ok/404         403/404        403/404        404/ok         401/401        401/401        403/403        404/404        404/404        403/404        403/404        403/404
POST /v1/users/{id}/tokens                           403/403        404/404        404/404        404/404        403/404        403/404        403/404        404/403        401/401        401/401        403/403        404/404        404/404        403/404        403/404        403/404
`

// authzQuery gives list operations the tenant to filter on.
func authzQuery(op apiOperation, tg *authzTarget) string {
	for _, q := range op.Query {
		if q == "tenant_id" {
			return "?tenant_id=" + string(tg.w.tenant.ID)
		}
	}
	switch {
	case strings.HasSuffix(op.Path, "/proofs/inclusion"):
		return "?index=0&size=1"
	case strings.HasSuffix(op.Path, "/proofs/consistency"):
		return "?from=1&to=1"
	}
	return ""
}

// authzBody is a well-formed body of the operation about the target, so
// that authorization, not validation, decides the answer.
func authzBody(op apiOperation, tg *authzTarget) any {
	if !op.HasBody {
		return nil
	}
	tenant := tg.w.tenant.ID
	switch op.Method + " " + op.Path {
	case "POST /v1/access-events":
		return map[string]any{"records": []map[string]any{{"id": "acc_" + lockbox.NewID("m"), "phase": "decision", "time": time.Now().UTC(), "tenant_id": tenant,
			"request_id": tg.request.ID, "method": "GET", "path": "/x", "decision": "refused", "reason": "out_of_scope"}}}
	case "POST /v1/tenants/{id}/lockbox/webhooks/rotate":
		return map[string]any{"url": ""} // 422 past authorization (TestWebhookSecretShownOnce rotates real ones)
	case "POST /v1/auth/login":
		return map[string]any{"email": tg.w.member.Email, "password": "wrong password"}
	case "POST /v1/me/totp/verify":
		return map[string]any{"code": "000000"}
	case "POST /v1/requests":
		return map[string]any{"ticket_id": tg.ticket.ID, "resources": []string{"mailbox:alice"}, "access_level": "read",
			"reason_type": "customer_initiated_support", "justification": "matrix", "duration": "1h"}
	case "POST /v1/requests/{id}/approve", "POST /v1/requests/{id}/deny", "POST /v1/requests/{id}/revoke":
		return map[string]any{"reason": "matrix"}
	case "POST /v1/tenants":
		return map[string]any{"name": "Matrix " + lockbox.NewID("t")}
	case "PATCH /v1/tenants/{id}/lockbox":
		return map[string]any{"approvals_required": 1}
	case "POST /v1/tickets":
		return map[string]any{"tenant_id": tenant, "title": "matrix", "description": "d", "severity": 3}
	case "POST /v1/tickets/{id}/comments":
		return map[string]any{"body": "matrix"}
	case "POST /v1/users":
		return map[string]any{"email": lockbox.NewID("u") + "@matrix.example", "display_name": "M", "kind": "customer", "tenant_id": tenant,
			"roles": []string{"member"}}
	case "POST /v1/invitations/{token}/accept":
		return map[string]any{"password": "a password of my own"}
	case "PATCH /v1/users/{id}":
		return map[string]any{"display_name": "Renamed"}
	case "POST /v1/users/{id}/tokens":
		return map[string]any{"name": "matrix"}
	}
	return map[string]any{}
}
