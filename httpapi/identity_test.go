package httpapi_test

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/app"
	"github.com/lockbox-dev/lockbox/notify"
)

// Identity (issue 13, items 2, 9 and 10): nobody but a person ever knows or
// sets that person's credentials, and what an API token does is its
// person's own act.

var invitationLinkRE = regexp.MustCompile(`(\S*)/invitations/(lbx_i_[A-Za-z0-9_-]+)`)

// sentEmails delivers every due notification and returns the e-mails sent
// to addr (the test server keeps them in memory), oldest first.
func (e *env) sentEmails(addr string) []notify.Email {
	e.t.Helper()
	e.drain()
	var out []notify.Email
	for _, m := range e.srv.Mailer.(*notify.LogMailer).Sent() {
		if strings.EqualFold(m.To, addr) {
			out = append(out, m)
		}
	}
	return out
}

// invitationToken returns the token of the newest invitation link e-mailed
// to addr, as the invitee reads it from their mailbox.
func (e *env) invitationToken(addr string) string {
	e.t.Helper()
	mails := e.sentEmails(addr)
	for i := len(mails) - 1; i >= 0; i-- {
		if m := invitationLinkRE.FindStringSubmatch(mails[i].Text); m != nil {
			return m[2]
		}
	}
	e.t.Fatalf("no invitation e-mail to %s", addr)
	return ""
}

// acceptWithTOTP accepts an invitation as the invitee does: enrols an
// authenticator with it, then sets the password with a current code. It
// returns the TOTP secret.
func (e *env) acceptWithTOTP(token, password string) string {
	e.t.Helper()
	var enrol lockbox.TOTPEnrollment
	e.must(201, "POST", "/v1/invitations/"+token+"/totp", "", nil, &enrol)
	e.must(200, "POST", "/v1/invitations/"+token+"/accept", "", lockbox.AcceptInvitationInput{Password: password, OTP: e.code(enrol.Secret)}, nil)
	return enrol.Secret
}

func TestInvitationIsTheOnlyWayIn(t *testing.T) {
	e := newEnvWith(t, func(c *app.Config) { c.PublicURL = "https://lockbox.example" })
	var tn lockbox.Tenant
	e.must(201, "POST", "/v1/tenants", e.admin, lockbox.CreateTenantInput{Name: "Initech"}, &tn)
	in := map[string]any{"email": "ada@initech.example", "display_name": "Ada", "kind": "customer", "tenant_id": tn.ID,
		"roles": []string{"tenant_admin"}}

	// The attack: the operator chooses the first admin's password. Refused,
	// and nothing changed.
	n := e.eventCount(tn.ID)
	withPw := map[string]any{"password": "operator knows this one"}
	for k, v := range in {
		withPw[k] = v
	}
	if r := e.call("POST", "/v1/users", e.admin, withPw); r.Status != 422 || !strings.Contains(string(r.Body), "invited") {
		t.Fatalf("a password in POST /v1/users: %d %s, want 422", r.Status, r.Body)
	}
	if m := e.eventCount(tn.ID); m != n {
		t.Fatalf("the refused creation appended %d events", m-n)
	}

	// Without one, the user is invited: the answer holds no link.
	var ada lockbox.User
	r := e.must(201, "POST", "/v1/users", e.admin, in, &ada)
	if strings.Contains(string(r.Body), "lbx_i_") || strings.Contains(string(r.Body), "invitations/") {
		t.Fatalf("the API answer shows the invitation link: %s", r.Body)
	}
	// Invited, not yet accepted: no password signs in.
	e.must(401, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: "ada@initech.example", Password: "operator knows this one"}, nil)

	mails := e.sentEmails("ada@initech.example")
	if len(mails) != 1 {
		t.Fatalf("%d e-mails to the invitee, want 1", len(mails))
	}
	m := invitationLinkRE.FindStringSubmatch(mails[0].Text)
	if m == nil || m[1] != "https://lockbox.example" || !strings.Contains(mails[0].HTML, m[0]) {
		t.Fatalf("the invitation e-mail has no <public-url>/invitations/<token> link:\n%s", mails[0].Text)
	}
	token := m[2]

	var info lockbox.InvitationInfo
	e.must(200, "GET", "/v1/invitations/"+token, "", nil, &info)
	if info.Email != "ada@initech.example" || info.TenantName != "Initech" || !info.SecondFactorRequired || info.InvitedBy == "" {
		t.Fatalf("invitation: %+v", info)
	}
	// An admin needs a second factor before the account can act.
	e.must(409, "POST", "/v1/invitations/"+token+"/accept", "", lockbox.AcceptInvitationInput{Password: "ada's own password"}, nil)
	var enrol lockbox.TOTPEnrollment
	e.must(201, "POST", "/v1/invitations/"+token+"/totp", "", nil, &enrol)
	e.must(422, "POST", "/v1/invitations/"+token+"/accept", "", lockbox.AcceptInvitationInput{Password: "ada's own password"}, nil)
	e.must(422, "POST", "/v1/invitations/"+token+"/accept", "", lockbox.AcceptInvitationInput{Password: "ada's own password", OTP: "000000"}, nil)
	e.must(422, "POST", "/v1/invitations/"+token+"/accept", "", lockbox.AcceptInvitationInput{Password: "short", OTP: e.code(enrol.Secret)}, nil)
	e.must(200, "POST", "/v1/invitations/"+token+"/accept", "", lockbox.AcceptInvitationInput{Password: "ada's own password", OTP: e.code(enrol.Secret)}, nil)
	// Single use.
	e.must(409, "POST", "/v1/invitations/"+token+"/accept", "", lockbox.AcceptInvitationInput{Password: "a second password", OTP: e.code(enrol.Secret)}, nil)
	e.must(409, "GET", "/v1/invitations/"+token, "", nil, nil)
	e.must(404, "GET", "/v1/invitations/lbx_i_"+strings.Repeat("A", 43), "", nil, nil)

	// Ada signs in with her own password and her own second factor.
	ad := &user{User: &ada, password: "ada's own password", secret: enrol.Secret}
	tok := e.loginMFA(ad)
	var me lockbox.Me
	e.must(200, "GET", "/v1/me", tok, nil, &me)
	if !me.MFA || !me.TOTPEnabled {
		t.Fatalf("after accepting: %+v", me)
	}

	// The tenant's log says who invited whom, and that it was accepted.
	var boot lockbox.Me
	e.must(200, "GET", "/v1/me", e.admin, nil, &boot)
	var invited, accepted *lockbox.Event
	for _, ev := range e.events(tn.ID) {
		switch ev.Type {
		case lockbox.EventUserInvited:
			invited = ev
		case lockbox.EventInvitationAccepted:
			accepted = ev
		}
	}
	if invited == nil || invited.ActorID != boot.ID || !strings.Contains(string(invited.Data), string(ada.ID)) {
		t.Errorf("user.invited: %+v", invited)
	}
	if accepted == nil || accepted.ActorID != ada.ID {
		t.Errorf("user.invitation_accepted: %+v", accepted)
	}

	// The token is nowhere but in the e-mail: not in the server's log, not
	// in the database (stored hashed; the outbox keeps it sealed).
	if strings.Contains(e.logs.String(), token) {
		t.Error("the server log holds the invitation token")
	}
	if strings.Contains(string(e.databaseDump()), token) {
		t.Error("the database holds the invitation token in clear")
	}
}

// An operator's invitation of a tenant's admin is for onboarding only: once
// the tenant has an active admin, no operator invitation works, and the
// operator cannot invite again.
func TestOperatorInvitationOnlyWhileTheTenantHasNoAdmin(t *testing.T) {
	e := newEnv(t)
	var tn lockbox.Tenant
	e.must(201, "POST", "/v1/tenants", e.admin, lockbox.CreateTenantInput{Name: "Globex"}, &tn)
	admin := func(email string) *lockbox.User {
		u := &lockbox.User{}
		e.must(201, "POST", "/v1/users", e.admin, map[string]any{"email": email, "display_name": "A", "kind": "customer",
			"tenant_id": tn.ID, "roles": []string{"tenant_admin"}}, u)
		return u
	}
	// Two invitations while nobody accepted (the first one may have gone
	// to a wrong address): allowed.
	x := admin("x@globex.example")
	admin("y@globex.example")
	xTok, yTok := e.invitationToken("x@globex.example"), e.invitationToken("y@globex.example")
	secret := e.acceptWithTOTP(xTok, "x's own password")

	// The attack: the operator kept the other link (or invited itself).
	if r := e.call("POST", "/v1/invitations/"+yTok+"/accept", "", lockbox.AcceptInvitationInput{Password: "operator's password"}); r.Status != 409 {
		t.Fatalf("accepting an operator's invitation after the tenant got its admin: %d %s, want 409", r.Status, r.Body)
	}
	e.must(409, "POST", "/v1/invitations/"+yTok+"/totp", "", nil, nil)
	// Nor can the operator invite or re-invite any longer.
	e.must(403, "POST", "/v1/users", e.admin, map[string]any{"email": "z@globex.example", "display_name": "Z", "kind": "customer",
		"tenant_id": tn.ID, "roles": []string{"tenant_admin"}}, nil)
	e.must(403, "POST", "/v1/users/"+string(x.ID)+"/invitation", e.admin, nil, nil)

	// The tenant's own admin may re-invite its users; the operator never.
	xs := &user{User: x, password: "x's own password", secret: secret}
	xs.token = e.loginMFA(xs)
	member := &lockbox.User{}
	e.must(201, "POST", "/v1/users", xs.token, map[string]any{"email": "m@globex.example", "display_name": "M", "kind": "customer",
		"tenant_id": tn.ID, "roles": []string{"member"}}, member)
	first := e.invitationToken("m@globex.example")
	e.must(200, "POST", "/v1/users/"+string(member.ID)+"/invitation", xs.token, nil, nil)
	second := e.invitationToken("m@globex.example")
	if first == second {
		t.Fatal("the re-invitation sent the same link")
	}
	e.must(409, "GET", "/v1/invitations/"+first, "", nil, nil) // replaced
	e.must(204, "DELETE", "/v1/users/"+string(member.ID)+"/invitation", xs.token, nil, nil)
	e.must(409, "GET", "/v1/invitations/"+second, "", nil, nil) // withdrawn
	e.must(409, "DELETE", "/v1/users/"+string(member.ID)+"/invitation", xs.token, nil, nil)
}

// The operator may re-invite a tenant's first admin only while the tenant
// has no active admin, and the tenant's notification e-mails hear of it
// (without the link).
func TestOperatorReinviteIsToldToTheTenant(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Umbrella")
	e.setLockbox(w, map[string]any{"notification_emails": []string{"security@umbrella.example"}})
	// Active admin: the operator may not re-invite anyone of the tenant.
	e.must(403, "POST", "/v1/users/"+string(w.customerAdmin.ID)+"/invitation", e.admin, nil, nil)

	// The admin invites a second admin, then leaves before they accepted:
	// the tenant has no active admin.
	second := &lockbox.User{}
	e.must(201, "POST", "/v1/users", w.customerAdmin.token, map[string]any{"email": "second@umbrella.example", "display_name": "Second",
		"kind": "customer", "tenant_id": w.tenant.ID, "roles": []string{"tenant_admin"}}, second)
	stale := e.invitationToken("second@umbrella.example")
	e.must(204, "DELETE", "/v1/users/"+string(w.customerAdmin.ID), w.customerAdmin.token, nil, nil)
	e.clock.Advance(73 * time.Hour) // the invitation expired unused
	e.must(409, "GET", "/v1/invitations/"+stale, "", nil, nil)

	e.must(200, "POST", "/v1/users/"+string(second.ID)+"/invitation", e.admin, nil, nil)
	token := e.invitationToken("second@umbrella.example")
	notices := e.sentEmails("security@umbrella.example")
	var notice *notify.Email
	for i := range notices {
		if strings.Contains(notices[i].Subject, "invited") {
			notice = &notices[i]
		}
	}
	if notice == nil || !strings.Contains(notice.Text, "second@umbrella.example") {
		t.Fatalf("the tenant's notification e-mails were not told of the operator's invitation: %+v", notices)
	}
	if strings.Contains(notice.Text+notice.HTML, token) || strings.Contains(notice.Text, "/invitations/") {
		t.Fatal("the notice to the notification e-mails carries the invitation link")
	}
	var invited *lockbox.Event
	for _, ev := range e.events(w.tenant.ID) {
		if ev.Type == lockbox.EventUserInvited {
			invited = ev
		}
	}
	if invited == nil || !strings.Contains(string(invited.Data), "security@umbrella.example") {
		t.Errorf("the re-invitation's event: %+v", invited)
	}
	e.acceptWithTOTP(token, "second's own password")
}

// A lost password is a re-invitation: the old password, second factor,
// sessions and API tokens end.
func TestReinvitationEndsTheOldCredentials(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Hooli")
	var tok lockbox.TokenOutput
	e.must(201, "POST", "/v1/users/"+string(w.approver.ID)+"/tokens", w.approver.token, map[string]any{"name": "script"}, &tok)
	e.must(200, "POST", "/v1/users/"+string(w.approver.ID)+"/invitation", w.customerAdmin.token, nil, nil)
	e.must(401, "GET", "/v1/me", w.approver.token, nil, nil)
	e.must(401, "GET", "/v1/me", tok.Token, nil, nil)
	e.must(401, "POST", "/v1/auth/login", "", lockbox.LoginInput{Email: w.approver.Email, Password: w.approver.password}, nil)
	secret := e.acceptWithTOTP(e.invitationToken(w.approver.Email), "a fresh password")
	e.loginMFA(&user{User: w.approver.User, password: "a fresh password", secret: secret})
	// Nobody re-invites themselves, and a member re-invites nobody.
	e.must(403, "POST", "/v1/users/"+string(w.customerAdmin.ID)+"/invitation", w.customerAdmin.token, nil, nil)
	e.must(403, "POST", "/v1/users/"+string(w.approver.ID)+"/invitation", w.member.token, nil, nil)
}

// Item 9: a password changes only by its owner, on a sign-in session, with
// the current password; the owner is e-mailed.
func TestPasswordChangeNeedsTheCurrentPasswordOnASession(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Soylent")
	eng := w.engineer
	var apiTok lockbox.TokenOutput
	e.must(201, "POST", "/v1/users/"+string(eng.ID)+"/tokens", eng.token, map[string]any{"name": "laptop"}, &apiTok)
	next, cur, wrong := "the attacker's password", eng.password, "not the password"
	path := "/v1/users/" + string(eng.ID)

	// The attacks: a stolen API token, even with the current password; a
	// session without it or with a wrong one; another user, even an admin.
	r := e.call("PATCH", path, apiTok.Token, lockbox.UpdateUserInput{Password: &next, CurrentPassword: &cur})
	if r.Status != 403 || !strings.Contains(string(r.Body), "API token") {
		t.Fatalf("password change with an API token: %d %s, want 403", r.Status, r.Body)
	}
	pwdOnly := e.loginPassword(eng)
	e.must(422, "PATCH", path, pwdOnly, lockbox.UpdateUserInput{Password: &next}, nil)
	e.must(403, "PATCH", path, pwdOnly, lockbox.UpdateUserInput{Password: &next, CurrentPassword: &wrong}, nil)
	adminPw := w.opAdmin.password
	e.must(403, "PATCH", path, w.opAdmin.token, lockbox.UpdateUserInput{Password: &next, CurrentPassword: &adminPw}, nil)
	custPw := w.customerAdmin.password
	e.must(403, "PATCH", "/v1/users/"+string(w.member.ID), w.customerAdmin.token, lockbox.UpdateUserInput{Password: &next, CurrentPassword: &custPw}, nil)
	// Nothing changed: the password still works, the sessions live.
	e.loginPassword(eng)
	e.must(200, "GET", "/v1/me", eng.token, nil, nil)
	if got := e.sentEmails(eng.Email); len(got) != 0 {
		t.Fatalf("e-mails after refused changes: %+v", got)
	}

	// The owner, on a session, with the current password: changed, the
	// other sessions and tokens end, and the owner is told.
	e.must(200, "PATCH", path, pwdOnly, lockbox.UpdateUserInput{Password: &next, CurrentPassword: &cur}, nil)
	e.must(401, "GET", "/v1/me", eng.token, nil, nil)
	e.must(401, "GET", "/v1/me", apiTok.Token, nil, nil)
	mails := e.sentEmails(eng.Email)
	if len(mails) != 1 || !strings.Contains(mails[0].Subject, "password was changed") {
		t.Fatalf("the owner was not e-mailed about the change: %+v", mails)
	}
	if strings.Contains(mails[0].Text, next) {
		t.Fatal("the e-mail holds the new password")
	}
	eng.password = next
	e.loginPassword(eng)
}

// Item 10: only a person mints their own API tokens; an operator admin
// mints for gateway service accounts only, so the tenant's log never names
// an engineer for what an admin did.
func TestOnlyAPersonMintsTheirAPITokens(t *testing.T) {
	e := newEnv(t)
	w := e.newWorld("Tyrell")
	// The attack: the operator admin mints a token for the engineer.
	for _, admin := range []string{e.admin, w.opAdmin.token} {
		r := e.call("POST", "/v1/users/"+string(w.engineer.ID)+"/tokens", admin, map[string]any{"name": "impersonate"})
		if r.Status != 403 {
			t.Fatalf("an operator admin minting for an engineer: %d %s, want 403", r.Status, r.Body)
		}
	}
	e.must(403, "POST", "/v1/users/"+string(w.opAdmin.ID)+"/tokens", e.admin, map[string]any{"name": "x"}, nil)
	e.must(403, "POST", "/v1/users/"+string(w.member.ID)+"/tokens", w.customerAdmin.token, map[string]any{"name": "x"}, nil)

	// The engineer mints its own; the admin mints for the gateway account.
	var own lockbox.TokenOutput
	e.must(201, "POST", "/v1/users/"+string(w.engineer.ID)+"/tokens", w.engineer.token, map[string]any{"name": "mine"}, &own)
	var me lockbox.Me
	e.must(200, "GET", "/v1/me", own.Token, nil, &me)
	if me.ID != w.engineer.ID {
		t.Fatalf("the engineer's token acts as %s", me.ID)
	}
	gw := &lockbox.User{}
	e.must(201, "POST", "/v1/users", e.admin, map[string]any{"email": "gw@operator.example", "display_name": "GW", "kind": "operator",
		"roles": []string{"gateway"}}, gw)
	if got := e.sentEmails("gw@operator.example"); len(got) != 0 {
		t.Fatalf("a service account was invited: %+v", got)
	}
	e.must(201, "POST", "/v1/users/"+string(gw.ID)+"/tokens", e.admin, map[string]any{"name": "gw"}, nil)
	// A service account is never invited (nobody could accept for it).
	e.must(422, "POST", "/v1/users/"+string(gw.ID)+"/invitation", e.admin, nil, nil)
}

// A service account's tokens, minted by an operator admin, end when the
// account is given a person's role: the admin cannot keep an engineer's
// token that way.
func TestServiceAccountTokensEndWhenItBecomesAPerson(t *testing.T) {
	e := newEnv(t)
	gw := &lockbox.User{}
	e.must(201, "POST", "/v1/users", e.admin, map[string]any{"email": "gw@operator.example", "display_name": "GW", "kind": "operator",
		"roles": []string{"gateway"}}, gw)
	var tok lockbox.TokenOutput
	e.must(201, "POST", "/v1/users/"+string(gw.ID)+"/tokens", e.admin, map[string]any{"name": "gw"}, &tok)
	e.must(200, "PATCH", "/v1/users/"+string(gw.ID), e.admin, map[string]any{"roles": []string{"engineer"}}, nil)
	if r := e.call("GET", "/v1/me", tok.Token, nil); r.Status != 401 {
		t.Fatalf("the admin-minted token of a former service account, now an engineer: %d %s, want 401", r.Status, r.Body)
	}
	e.must(403, "POST", "/v1/users/"+string(gw.ID)+"/tokens", e.admin, map[string]any{"name": "again"}, nil)
}
