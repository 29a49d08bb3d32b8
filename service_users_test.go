package lockbox_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// TestUpdateLockbox: only the tenant's own tenant_admin, on an MFA session,
// changes its lockbox settings; no operator role can; invalid settings
// change nothing.
func TestUpdateLockbox(t *testing.T) {
	two, zero := 2, 0
	noTTL := lockbox.Duration(0)
	off := false
	cases := []struct {
		name  string
		p     func(e *domainEnv) *lockbox.Principal
		patch lockbox.LockboxPatch
		code  lockbox.ErrorCode
	}{
		{"the tenant admin with a one-time code", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, lockbox.LockboxPatch{ApprovalsRequired: &two}, ""},
		{"the tenant admin turns lockbox off", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, lockbox.LockboxPatch{Enabled: &off}, ""},
		{"the tenant admin without a one-time code", func(e *domainEnv) *lockbox.Principal { return e.pwd(e.admin) }, lockbox.LockboxPatch{ApprovalsRequired: &two}, lockbox.CodeForbidden},
		{"an approver", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.apr1) }, lockbox.LockboxPatch{ApprovalsRequired: &two}, lockbox.CodeForbidden},
		{"a member", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.member) }, lockbox.LockboxPatch{Enabled: &off}, lockbox.CodeForbidden},
		{"an operator admin", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.opAdmin) }, lockbox.LockboxPatch{Enabled: &off}, lockbox.CodeForbidden},
		{"an engineer", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.eng) }, lockbox.LockboxPatch{Enabled: &off}, lockbox.CodeForbidden},
		{"another tenant's admin", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.foreign) }, lockbox.LockboxPatch{Enabled: &off}, lockbox.CodeNotFound},
		{"zero approvals", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, lockbox.LockboxPatch{ApprovalsRequired: &zero}, lockbox.CodeInvalid},
		{"no pending time", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, lockbox.LockboxPatch{PendingTTL: &noTTL}, lockbox.CodeInvalid},
		{"a bad notification address", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, lockbox.LockboxPatch{NotificationEmails: &[]string{"not an address"}}, lockbox.CodeInvalid},
	}
	e := newDomainEnv(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			e.resetSettings(e.acme.ID)
			m := e.mark()
			got, err := e.svc.UpdateLockbox(e.ctx, c.p(e), e.acme.ID, c.patch)
			wantCode(t, "update", err, c.code)
			tn, gerr := e.svc.GetTenant(e.ctx, e.pwd(e.admin), e.acme.ID)
			if gerr != nil {
				t.Fatal(gerr)
			}
			if c.code != "" {
				e.expectEvents(m, e.acme.ID)
				if !jsonEqual(tn.Lockbox, lockbox.DefaultLockboxSettings()) {
					t.Fatalf("a refused update changed the settings to %+v", tn.Lockbox)
				}
				return
			}
			e.expectEvents(m, e.acme.ID, lockbox.EventLockboxUpdated)
			want := c.patch.Apply(lockbox.DefaultLockboxSettings())
			if !jsonEqual(*got, want) || !jsonEqual(tn.Lockbox, want) {
				t.Errorf("settings %+v, stored %+v, want %+v", *got, tn.Lockbox, want)
			}
		})
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// TestWebhookSecrets: the server makes each webhook's secret, keeps it while
// the URL stays, shows it once (in the answer that adds the webhook) and
// never again, to nobody, and never logs it.
func TestWebhookSecrets(t *testing.T) {
	e := newDomainEnv(t)
	stored := func() string {
		t.Helper()
		var tn *lockbox.Tenant
		if err := e.store.View(e.ctx, func(r lockbox.Reader) error {
			var err error
			tn, err = r.GetTenant(e.ctx, e.acme.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return tn.Lockbox.Webhooks[0].Secret
	}
	hooks := []lockbox.Webhook{{URL: "https://hooks.example.com/a", Secret: "chosen-by-the-client"}}
	got, err := e.svc.UpdateLockbox(e.ctx, e.mfa(e.admin), e.acme.ID, lockbox.LockboxPatch{Webhooks: &hooks})
	if err != nil {
		t.Fatal(err)
	}
	secret := got.Webhooks[0].Secret
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("secret %q: the server did not make it", secret)
	}
	kept := stored()
	hooks = append(hooks, lockbox.Webhook{URL: "https://hooks.example.com/b"})
	got, err = e.svc.UpdateLockbox(e.ctx, e.mfa(e.admin), e.acme.ID, lockbox.LockboxPatch{Webhooks: &hooks})
	if err != nil {
		t.Fatal(err)
	}
	if got.Webhooks[0].Secret != "" || got.Webhooks[1].Secret == "" || got.Webhooks[1].Secret == secret {
		t.Fatalf("secrets after adding a webhook: %+v (want only the new one's, once)", got.Webhooks)
	}
	if stored() != kept {
		t.Fatal("the first webhook's secret changed when another was added")
	}
	for _, p := range []*lockbox.Principal{e.mfa(e.admin), e.pwd(e.admin), e.pwd(e.apr1), e.pwd(e.member), e.pwd(e.eng)} {
		tn, err := e.svc.GetTenant(e.ctx, p, e.acme.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range tn.Lockbox.Webhooks {
			if w.Secret != "" {
				t.Errorf("%s reads a webhook secret after it was shown", p.User.DisplayName)
			}
		}
	}
	for _, ev := range e.events(e.acme.ID) {
		if strings.Contains(string(ev.Data), secret) {
			t.Errorf("event %s holds the secret", ev.Type)
		}
	}
}

// TestTenantReads: operators see every tenant, customers their own; the
// lockbox settings are the admins', approvers' and operators'.
func TestTenantReads(t *testing.T) {
	e := newDomainEnv(t)
	cases := []struct {
		name     string
		p        *lockbox.Principal
		get, lbx lockbox.ErrorCode
		list     int
	}{
		{"an engineer", e.pwd(e.eng), "", "", 2},
		{"the tenant's approver", e.pwd(e.apr1), "", "", 1},
		{"a member", e.pwd(e.member), "", lockbox.CodeForbidden, 1},
		{"another tenant's admin", e.pwd(e.foreign), lockbox.CodeNotFound, lockbox.CodeNotFound, 1},
		{"a gateway account", e.pwd(e.gw), lockbox.CodeNotFound, lockbox.CodeNotFound, -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			_, err := e.svc.GetTenant(e.ctx, c.p, e.acme.ID)
			wantCode(t, "get", err, c.get)
			_, err = e.svc.GetLockbox(e.ctx, c.p, e.acme.ID)
			wantCode(t, "get lockbox", err, c.lbx)
			list, err := e.svc.ListTenants(e.ctx, c.p, lockbox.Page{})
			if c.list < 0 {
				wantCode(t, "list", err, lockbox.CodeForbidden)
				return
			}
			wantCode(t, "list", err, "")
			if len(list.Items) != c.list {
				t.Errorf("listed %d tenants, want %d", len(list.Items), c.list)
			}
		})
	}
}

// TestCreateTenant: operator admins create tenants, with the secure
// defaults, in the new tenant's log.
func TestCreateTenant(t *testing.T) {
	e := newDomainEnv(t)
	_, err := e.svc.CreateTenant(e.ctx, e.mfa(e.eng), lockbox.CreateTenantInput{Name: "Initech"})
	wantCode(t, "an engineer", err, lockbox.CodeForbidden)
	_, err = e.svc.CreateTenant(e.ctx, e.mfa(e.opAdmin), lockbox.CreateTenantInput{Name: " "})
	wantCode(t, "no name", err, lockbox.CodeInvalid)
	tn, err := e.svc.CreateTenant(e.ctx, e.mfa(e.opAdmin), lockbox.CreateTenantInput{Name: " Initech "})
	if err != nil {
		t.Fatal(err)
	}
	if tn.Name != "Initech" || !jsonEqual(tn.Lockbox, lockbox.DefaultLockboxSettings()) {
		t.Errorf("tenant %+v", tn)
	}
	if evs := e.events(tn.ID); len(evs) != 1 || evs[0].Type != lockbox.EventTenantCreated || evs[0].ActorID != e.opAdmin.ID {
		t.Errorf("events of the new tenant: %v", evs)
	}
}

// TestUpdateUserRoles: a tenant's users and roles are its own admins' to
// manage, on an MFA session; the operator's invitation is spent; nobody
// raises their own roles; the last tenant_admin stays (invariant 10).
func TestUpdateUserRoles(t *testing.T) {
	approver := &[]lockbox.Role{lockbox.RoleLockboxApprover}
	memberRole := &[]lockbox.Role{lockbox.RoleMember}
	adminRole := &[]lockbox.Role{lockbox.RoleTenantAdmin}
	name := "New Name"
	type who func(e *domainEnv) *lockbox.Principal
	type whom func(e *domainEnv) *lockbox.User
	cases := []struct {
		name   string
		p      who
		target whom
		in     lockbox.UpdateUserInput
		code   lockbox.ErrorCode
		log    func(e *domainEnv) lockbox.TenantID
		event  lockbox.EventType
	}{
		{"the tenant admin promotes a member", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.UpdateUserInput{Roles: approver}, "", func(e *domainEnv) lockbox.TenantID { return e.acme.ID }, lockbox.EventUserUpdated},
		{"the tenant admin without a one-time code", func(e *domainEnv) *lockbox.Principal { return e.pwd(e.admin) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.UpdateUserInput{Roles: approver}, lockbox.CodeForbidden, nil, ""},
		{"an approver promotes a member", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.apr1) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.UpdateUserInput{Roles: approver}, lockbox.CodeForbidden, nil, ""},
		{"an operator admin promotes a member", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.opAdmin) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.UpdateUserInput{Roles: adminRole}, lockbox.CodeForbidden, nil, ""},
		{"a member promotes itself", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.member) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.UpdateUserInput{Roles: adminRole}, lockbox.CodeForbidden, nil, ""},
		{"a member renames itself", func(e *domainEnv) *lockbox.Principal { return e.pwd(e.member) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.UpdateUserInput{DisplayName: &name}, "", func(e *domainEnv) lockbox.TenantID { return e.acme.ID }, lockbox.EventUserUpdated},
		{"a member renames another", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.member) }, func(e *domainEnv) *lockbox.User { return e.apr1 },
			lockbox.UpdateUserInput{DisplayName: &name}, lockbox.CodeForbidden, nil, ""},
		{"another tenant's admin", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.foreign) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.UpdateUserInput{Roles: approver}, lockbox.CodeNotFound, nil, ""},
		{"the tenant admin gives an operator role", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleEngineer}}, lockbox.CodeInvalid, nil, ""},
		{"an operator admin moves an engineer between groups", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.opAdmin) }, func(e *domainEnv) *lockbox.User { return e.eng2 },
			lockbox.UpdateUserInput{Groups: &[]string{"support-leads"}}, "", func(e *domainEnv) lockbox.TenantID { return lockbox.SystemLog }, lockbox.EventOperatorUserChanged},
		{"an engineer joins a group", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.eng2) }, func(e *domainEnv) *lockbox.User { return e.eng2 },
			lockbox.UpdateUserInput{Groups: &[]string{"support-leads"}}, lockbox.CodeForbidden, nil, ""},
		{"an engineer changes another", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.eng2) }, func(e *domainEnv) *lockbox.User { return e.eng },
			lockbox.UpdateUserInput{DisplayName: &name}, lockbox.CodeNotFound, nil, ""},
		{"a tenant admin changes an operator", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, func(e *domainEnv) *lockbox.User { return e.eng },
			lockbox.UpdateUserInput{DisplayName: &name}, lockbox.CodeNotFound, nil, ""},
		{"a tenant admin demotes another admin", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, func(e *domainEnv) *lockbox.User { return e.admin2 },
			lockbox.UpdateUserInput{Roles: memberRole}, "", func(e *domainEnv) lockbox.TenantID { return e.acme.ID }, lockbox.EventUserUpdated},
	}
	e := newDomainEnv(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			target := c.target(e)
			before := e.user(target)
			defer e.restoreUser(before)
			m := e.mark()
			got, err := e.svc.UpdateUser(e.ctx, c.p(e), target.ID, c.in)
			wantCode(t, "update", err, c.code)
			after := e.user(target)
			if c.code != "" {
				e.expectEvents(m, "")
				if !jsonEqual(after, before) {
					t.Fatalf("a refused change changed the user: %+v", after)
				}
				return
			}
			e.expectEvents(m, c.log(e), c.event)
			if !jsonEqual(got, after) || (c.in.Roles != nil && !jsonEqual(after.Roles, *c.in.Roles)) ||
				(c.in.Groups != nil && !jsonEqual(after.Groups, *c.in.Groups)) || (c.in.DisplayName != nil && after.DisplayName != *c.in.DisplayName) {
				t.Errorf("stored %+v", after)
			}
		})
	}
}

// TestLastTenantAdminStays: the tenant's last tenant_admin can be neither
// demoted nor removed, so someone can always manage the tenant.
func TestLastTenantAdminStays(t *testing.T) {
	e := newDomainEnv(t)
	if err := e.svc.DeleteUser(e.ctx, e.mfa(e.admin), e.admin2.ID); err != nil {
		t.Fatal(err)
	}
	m := e.mark()
	_, err := e.svc.UpdateUser(e.ctx, e.mfa(e.admin), e.admin.ID, lockbox.UpdateUserInput{Roles: &[]lockbox.Role{lockbox.RoleLockboxApprover}})
	wantCode(t, "demoting the last admin", err, lockbox.CodeConflict)
	err = e.svc.DeleteUser(e.ctx, e.mfa(e.admin), e.admin.ID)
	wantCode(t, "removing the last admin", err, lockbox.CodeConflict)
	e.expectEvents(m, "")
	if !e.user(e.admin).IsTenantAdminOf(e.acme.ID) {
		t.Fatal("the last admin lost its role")
	}
}

// TestDeleteUser: the tenant's admins remove its users (on MFA), whose
// sessions end at once; nobody else does.
func TestDeleteUser(t *testing.T) {
	cases := []struct {
		name   string
		p      func(e *domainEnv) *lockbox.Principal
		target func(e *domainEnv) *lockbox.User
		code   lockbox.ErrorCode
		log    func(e *domainEnv) lockbox.TenantID
		event  lockbox.EventType
	}{
		{"the tenant admin removes a member", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.admin) }, func(e *domainEnv) *lockbox.User { return e.member },
			"", func(e *domainEnv) lockbox.TenantID { return e.acme.ID }, lockbox.EventUserDeleted},
		{"an operator admin removes an engineer", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.opAdmin) }, func(e *domainEnv) *lockbox.User { return e.eng2 },
			"", func(e *domainEnv) lockbox.TenantID { return lockbox.SystemLog }, lockbox.EventOperatorUserChanged},
		{"the tenant admin without a one-time code", func(e *domainEnv) *lockbox.Principal { return e.pwd(e.admin) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.CodeForbidden, nil, ""},
		{"an operator admin removes a customer", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.opAdmin) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.CodeForbidden, nil, ""},
		{"an approver removes a member", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.apr1) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.CodeForbidden, nil, ""},
		{"a member removes itself", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.member) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.CodeForbidden, nil, ""},
		{"an engineer removes itself", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.eng2) }, func(e *domainEnv) *lockbox.User { return e.eng2 },
			lockbox.CodeForbidden, nil, ""},
		{"another tenant's admin", func(e *domainEnv) *lockbox.Principal { return e.mfa(e.foreign) }, func(e *domainEnv) *lockbox.User { return e.member },
			lockbox.CodeNotFound, nil, ""},
	}
	e := newDomainEnv(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			target := c.target(e)
			defer e.restoreUser(e.user(target))
			secret := lockbox.NewSecret(lockbox.SessionPrefix)
			e.update(func(tx lockbox.Tx) error {
				return tx.CreateCredential(e.ctx, &lockbox.Credential{ID: lockbox.NewID("cred"), UserID: target.ID,
					Kind: lockbox.CredentialSession, Hash: lockbox.HashSecret(secret), AMR: []string{"pwd", "otp"}, CreatedAt: domainT0})
			})
			if _, err := e.svc.Authenticate(e.ctx, secret); err != nil {
				t.Fatal(err)
			}
			m := e.mark()
			err := e.svc.DeleteUser(e.ctx, c.p(e), target.ID)
			wantCode(t, "delete", err, c.code)
			_, authErr := e.svc.Authenticate(e.ctx, secret)
			if c.code != "" {
				e.expectEvents(m, "")
				if authErr != nil || !e.user(target).Active() {
					t.Fatalf("a refused removal ended the user: %v", authErr)
				}
				return
			}
			e.expectEvents(m, c.log(e), c.event)
			if e.user(target).Active() {
				t.Error("the user is still active")
			}
			wantCode(t, "the removed user's session", authErr, lockbox.CodeUnauthenticated)
			err = e.svc.DeleteUser(e.ctx, c.p(e), target.ID)
			wantCode(t, "removing again", err, lockbox.CodeNotFound)
		})
	}
}

// TestUserReads: users are read by themselves, operator admins, and the
// tenant's admins and approvers; customers never see operator users.
func TestUserReads(t *testing.T) {
	e := newDomainEnv(t)
	cases := []struct {
		name   string
		p      *lockbox.Principal
		target *lockbox.User
		code   lockbox.ErrorCode
	}{
		{"a member reads itself", e.pwd(e.member), e.member, ""},
		{"an approver reads a member", e.pwd(e.apr1), e.member, ""},
		{"a member reads an approver", e.pwd(e.member), e.apr1, lockbox.CodeForbidden},
		{"another tenant's admin reads a member", e.pwd(e.foreign), e.member, lockbox.CodeNotFound},
		{"a tenant admin reads an engineer", e.pwd(e.admin), e.eng, lockbox.CodeNotFound},
		{"an engineer reads another", e.pwd(e.eng), e.eng2, lockbox.CodeNotFound},
		{"an operator admin reads a member", e.pwd(e.opAdmin), e.member, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			u, err := e.svc.GetUser(e.ctx, c.p, c.target.ID)
			wantCode(t, "get", err, c.code)
			if err == nil && u.ID != c.target.ID {
				t.Errorf("read %s", u.ID)
			}
		})
	}
	list, err := e.svc.ListUsers(e.ctx, e.pwd(e.apr1), lockbox.UserFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 5 {
		t.Errorf("an approver lists %d users, want the tenant's 5", len(list.Items))
	}
	for _, u := range list.Items {
		if u.Kind != lockbox.KindCustomer || u.TenantID != e.acme.ID {
			t.Errorf("an approver lists %s (%s of %s)", u.ID, u.Kind, u.TenantID)
		}
	}
	_, err = e.svc.ListUsers(e.ctx, e.pwd(e.apr1), lockbox.UserFilter{Kind: lockbox.KindOperator})
	wantCode(t, "a customer lists operators", err, lockbox.CodeForbidden)
	_, err = e.svc.ListUsers(e.ctx, e.pwd(e.apr1), lockbox.UserFilter{TenantID: e.globex.ID})
	wantCode(t, "a customer lists another tenant", err, lockbox.CodeNotFound)
	for _, p := range []*lockbox.Principal{e.pwd(e.member), e.pwd(e.eng)} {
		_, err = e.svc.ListUsers(e.ctx, p, lockbox.UserFilter{})
		wantCode(t, "list by "+p.User.DisplayName, err, lockbox.CodeForbidden)
	}
}

// TestCreateAPIToken: a user makes its own tokens; an operator admin makes
// them for operator users only, never for a customer.
func TestCreateAPIToken(t *testing.T) {
	e := newDomainEnv(t)
	week := lockbox.Duration(7 * 24 * time.Hour)
	tooLong := lockbox.Duration(400 * 24 * time.Hour)
	cases := []struct {
		name   string
		p      *lockbox.Principal
		target *lockbox.User
		in     lockbox.CreateTokenInput
		code   lockbox.ErrorCode
		log    lockbox.TenantID
	}{
		{"a customer, its own", e.pwd(e.apr1), e.apr1, lockbox.CreateTokenInput{Name: "cli", ExpiresIn: &week}, "", e.acme.ID},
		{"an operator admin, for the gateway", e.mfa(e.opAdmin), e.gw, lockbox.CreateTokenInput{Name: "gw"}, "", lockbox.SystemLog},
		{"an operator admin, for a customer", e.mfa(e.opAdmin), e.admin, lockbox.CreateTokenInput{Name: "x"}, lockbox.CodeForbidden, ""},
		{"a tenant admin, for its approver", e.mfa(e.admin), e.apr1, lockbox.CreateTokenInput{Name: "x"}, lockbox.CodeForbidden, ""},
		{"an engineer, for another", e.mfa(e.eng), e.eng2, lockbox.CreateTokenInput{Name: "x"}, lockbox.CodeNotFound, ""},
		{"no name", e.pwd(e.apr1), e.apr1, lockbox.CreateTokenInput{}, lockbox.CodeInvalid, ""},
		{"over a year", e.pwd(e.apr1), e.apr1, lockbox.CreateTokenInput{Name: "x", ExpiresIn: &tooLong}, lockbox.CodeInvalid, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			m := e.mark()
			out, err := e.svc.CreateAPIToken(e.ctx, c.p, c.target.ID, c.in)
			wantCode(t, "create token", err, c.code)
			if c.code != "" {
				e.expectEvents(m, "")
				return
			}
			e.expectEvents(m, c.log, lockbox.EventTokenCreated)
			p, err := e.svc.Authenticate(e.ctx, out.Token)
			if err != nil || p.ID() != c.target.ID || p.MFA() || p.CredentialKind != lockbox.CredentialAPIToken {
				t.Fatalf("the token authenticates as %+v (%v)", p, err)
			}
			if c.in.ExpiresIn != nil && !out.ExpiresAt.Equal(domainT0.Add(c.in.ExpiresIn.D())) {
				t.Errorf("expires %v", out.ExpiresAt)
			}
		})
	}
}
