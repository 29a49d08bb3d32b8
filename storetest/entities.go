package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

func testTenantRoundTrip(t *testing.T, s lockbox.Store) {
	tn := newTenant("acme", at(0))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTenant(ctx, tn) })
	got := read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Tenant, error) { return r.GetTenant(ctx, tn.ID) })
	wantEqual(t, "created tenant", got, tn)

	// UpdateTenant stores the settings and AdminInvitedAt.
	changed := *got
	changed.Lockbox = lockbox.LockboxSettings{
		Enabled:            false,
		ApprovalsRequired:  3,
		PendingTTL:         lockbox.Duration(45 * time.Second),
		MaxAccessDuration:  lockbox.Duration(26 * time.Hour),
		NotificationEmails: []string{"new@acme.example"},
		Webhooks:           []lockbox.Webhook{{URL: "https://a.example/1"}, {URL: "https://b.example/2"}},
	}
	changed.AdminInvitedAt = ptr(at(9))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateTenant(ctx, &changed) })
	got = read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Tenant, error) { return r.GetTenant(ctx, tn.ID) })
	wantEqual(t, "updated tenant", got, &changed)

	// A tenant whose admin was never invited reads back with nil.
	fresh := newTenant("initech", at(1))
	fresh.AdminInvitedAt = nil
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTenant(ctx, fresh) })
	got = read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Tenant, error) {
		return r.GetTenant(ctx, fresh.ID)
	})
	wantEqual(t, "tenant without invitation", got, fresh)
}

func testUserRoundTrip(t *testing.T, s lockbox.Store) {
	tn := newTenant("acme", at(0))
	op := newOperator("eve", at(1), lockbox.RoleOperatorAdmin, lockbox.RoleEngineer)
	cu := newCustomer(tn.ID, "ada", at(2), lockbox.RoleTenantAdmin, lockbox.RoleLockboxApprover)
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		if err := tx.CreateUser(ctx, op); err != nil {
			return err
		}
		return tx.CreateUser(ctx, cu)
	})
	for _, want := range []*lockbox.User{op, cu} {
		got := read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.User, error) { return r.GetUser(ctx, want.ID) })
		wantEqual(t, "user by id", got, want)
		// E-mail lookups ignore case.
		for _, email := range []string{want.Email, strings.ToUpper(want.Email)} {
			got = read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.User, error) {
				return r.GetUserByEmail(ctx, email)
			})
			wantEqual(t, "user by e-mail "+email, got, want)
		}
	}

	// UpdateUser stores every field a user's life changes.
	changed := *op
	changed.Email = "renamed." + string(op.ID) + "@operator.example"
	changed.DisplayName = "Eve Renamed"
	changed.Roles = []lockbox.Role{lockbox.RoleGateway}
	changed.Groups = []string{"sre"}
	changed.Isolated = false
	changed.TOTPEnabled = false
	changed.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3c2FsdA$bmV3aGFzaA"
	changed.TOTPSecret = ""
	changed.TOTPPending = "MFRGGZDFMZTWQ2LK"
	changed.TOTPLastStep = 58_999_999
	changed.UpdatedAt = at(20)
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateUser(ctx, &changed) })
	got := read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.User, error) { return r.GetUser(ctx, op.ID) })
	wantEqual(t, "updated user", got, &changed)

	// A removed user is still read by ID (its ID is in requests and events)
	// but no longer found by e-mail.
	changed.DeletedAt = ptr(at(30))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateUser(ctx, &changed) })
	got = read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.User, error) { return r.GetUser(ctx, op.ID) })
	wantEqual(t, "removed user", got, &changed)
	err := readErr(t, s, func(ctx context.Context, r lockbox.Reader) error {
		_, err := r.GetUserByEmail(ctx, changed.Email)
		return err
	})
	wantNotFound(t, "GetUserByEmail of a removed user", err, "")
}

func testUserEmailUnique(t *testing.T, s lockbox.Store) {
	first := newOperator("eve", at(0))
	first.Email = "Eve.Smith@Operator.example"
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateUser(ctx, first) })

	for _, email := range []string{"Eve.Smith@Operator.example", "eve.smith@operator.example", "EVE.SMITH@OPERATOR.EXAMPLE"} {
		dup := newOperator("other", at(1))
		dup.Email = email
		err := writeErr(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateUser(ctx, dup) })
		wantCode(t, "CreateUser with taken e-mail "+email, err, lockbox.CodeConflict)
		if !errors.Is(err, lockbox.ErrConflict) {
			t.Fatalf("CreateUser with taken e-mail: %v does not match ErrConflict", err)
		}
		if !strings.Contains(strings.ToLower(err.Error()), "eve.smith@operator.example") {
			t.Errorf("conflict %q does not name the e-mail", err)
		}
		if err := readErr(t, s, func(ctx context.Context, r lockbox.Reader) error {
			_, err := r.GetUser(ctx, dup.ID)
			return err
		}); !errors.Is(err, lockbox.ErrNotFound) {
			t.Fatalf("the refused user was stored: GetUser = %v", err)
		}
	}

	// Changing another user's e-mail to a taken one is a conflict too.
	second := newOperator("sam", at(2))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateUser(ctx, second) })
	second.Email = "EVE.smith@operator.EXAMPLE"
	err := writeErr(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateUser(ctx, second) })
	wantCode(t, "UpdateUser to a taken e-mail", err, lockbox.CodeConflict)

	// Once the user is removed, the address may be given to a new user.
	first.DeletedAt = ptr(at(3))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateUser(ctx, first) })
	again := newOperator("eve", at(4))
	again.Email = "eve.smith@operator.example"
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateUser(ctx, again) })
	got := read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.User, error) {
		return r.GetUserByEmail(ctx, "Eve.Smith@Operator.example")
	})
	if got.ID != again.ID {
		t.Fatalf("GetUserByEmail = %s, want the new active user %s", got.ID, again.ID)
	}
}

func testCountUsers(t *testing.T, s lockbox.Store) {
	n := read(t, s, func(ctx context.Context, r lockbox.Reader) (int, error) { return r.CountUsers(ctx) })
	if n != 0 {
		t.Fatalf("CountUsers of an empty store = %d", n)
	}
	f := newFixture(t, s) // four users
	removed := newOperator("gone", at(5))
	removed.DeletedAt = ptr(at(6))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateUser(ctx, removed) })
	f.lead.DeletedAt = ptr(at(7))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateUser(ctx, f.lead) })
	n = read(t, s, func(ctx context.Context, r lockbox.Reader) (int, error) { return r.CountUsers(ctx) })
	if n != 5 {
		t.Fatalf("CountUsers = %d, want 5 (removed users count)", n)
	}
}

func testCountTenantAdmins(t *testing.T, s lockbox.Store) {
	a, b := newTenant("acme", at(0)), newTenant("globex", at(0))
	removedAdmin := newCustomer(a.ID, "old", at(1), lockbox.RoleTenantAdmin)
	removedAdmin.DeletedAt = ptr(at(2))
	users := []*lockbox.User{
		newCustomer(a.ID, "ada", at(1), lockbox.RoleTenantAdmin),
		newCustomer(a.ID, "abe", at(1), lockbox.RoleLockboxApprover, lockbox.RoleTenantAdmin),
		newCustomer(a.ID, "amy", at(1), lockbox.RoleLockboxApprover),
		newCustomer(a.ID, "al", at(1), lockbox.RoleMember),
		removedAdmin,
		newCustomer(b.ID, "bob", at(1), lockbox.RoleTenantAdmin),
		newOperator("eve", at(1), lockbox.RoleOperatorAdmin),
	}
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		for _, tn := range []*lockbox.Tenant{a, b} {
			if err := tx.CreateTenant(ctx, tn); err != nil {
				return err
			}
		}
		for _, u := range users {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return nil
	})
	for _, tc := range []struct {
		tenant lockbox.TenantID
		want   int
	}{{a.ID, 2}, {b.ID, 1}, {"ten_unknown", 0}} {
		n := read(t, s, func(ctx context.Context, r lockbox.Reader) (int, error) { return r.CountTenantAdmins(ctx, tc.tenant) })
		if n != tc.want {
			t.Errorf("CountTenantAdmins(%s) = %d, want %d", tc.tenant, n, tc.want)
		}
	}

	// Removing an admin takes it out of the count at once.
	users[0].DeletedAt = ptr(at(3))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateUser(ctx, users[0]) })
	n := read(t, s, func(ctx context.Context, r lockbox.Reader) (int, error) { return r.CountTenantAdmins(ctx, a.ID) })
	if n != 1 {
		t.Errorf("CountTenantAdmins after removing an admin = %d, want 1", n)
	}
}

func testCredentialRoundTrip(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	session := &lockbox.Credential{
		ID: lockbox.NewID("ses"), UserID: f.engineer.ID, Kind: lockbox.CredentialSession,
		Name: "login from 192.0.2.7", Hash: strings.Repeat("ab", 32), AMR: []string{"pwd", "otp"},
		CreatedAt: at(3), ExpiresAt: ptr(at(3).Add(12 * time.Hour)),
	}
	token := &lockbox.Credential{
		ID: lockbox.NewID("tok"), UserID: f.engineer.ID, Kind: lockbox.CredentialAPIToken,
		Name: "gateway eu-1", Hash: strings.Repeat("cd", 32), AMR: []string{"token"}, CreatedAt: at(4),
	}
	other := &lockbox.Credential{
		ID: lockbox.NewID("ses"), UserID: f.admin.ID, Kind: lockbox.CredentialSession,
		Name: "admin", Hash: strings.Repeat("ef", 32), AMR: []string{"pwd"}, CreatedAt: at(5),
		ExpiresAt: ptr(at(6)),
	}
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		for _, c := range []*lockbox.Credential{session, token, other} {
			if err := tx.CreateCredential(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range []*lockbox.Credential{session, token, other} {
		got := read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Credential, error) {
			return r.GetCredential(ctx, want.Hash)
		})
		wantEqual(t, "credential "+want.Name, got, want)
	}

	// DeleteCredentials removes every credential of the user, no other.
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.DeleteCredentials(ctx, f.engineer.ID) })
	for _, gone := range []*lockbox.Credential{session, token} {
		err := readErr(t, s, func(ctx context.Context, r lockbox.Reader) error {
			_, err := r.GetCredential(ctx, gone.Hash)
			return err
		})
		wantNotFound(t, "GetCredential after DeleteCredentials", err, "")
	}
	got := read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Credential, error) {
		return r.GetCredential(ctx, other.Hash)
	})
	wantEqual(t, "another user's credential", got, other)
	// Deleting the credentials of a user without any is no error.
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.DeleteCredentials(ctx, f.lead.ID) })
}

// testDeleteCredential checks that one credential goes (sign-out) and the
// user's others stay.
func testDeleteCredential(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	signedOut := &lockbox.Credential{
		ID: lockbox.NewID("ses"), UserID: f.engineer.ID, Kind: lockbox.CredentialSession,
		Hash: strings.Repeat("a1", 32), AMR: []string{"pwd"}, CreatedAt: at(3), ExpiresAt: ptr(at(4)),
	}
	otherSession := &lockbox.Credential{
		ID: lockbox.NewID("ses"), UserID: f.engineer.ID, Kind: lockbox.CredentialSession,
		Hash: strings.Repeat("b2", 32), AMR: []string{"pwd", "otp"}, CreatedAt: at(3), ExpiresAt: ptr(at(4)),
	}
	token := &lockbox.Credential{
		ID: lockbox.NewID("tok"), UserID: f.engineer.ID, Kind: lockbox.CredentialAPIToken,
		Name: "ci", Hash: strings.Repeat("c3", 32), AMR: []string{"token"}, CreatedAt: at(3),
	}
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		for _, c := range []*lockbox.Credential{signedOut, otherSession, token} {
			if err := tx.CreateCredential(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.DeleteCredential(ctx, signedOut.ID) })
	err := readErr(t, s, func(ctx context.Context, r lockbox.Reader) error {
		_, err := r.GetCredential(ctx, signedOut.Hash)
		return err
	})
	wantNotFound(t, "GetCredential after DeleteCredential", err, "")
	for _, kept := range []*lockbox.Credential{otherSession, token} {
		got := read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Credential, error) {
			return r.GetCredential(ctx, kept.Hash)
		})
		wantEqual(t, "the user's other credential", got, kept)
	}
	// A second delete of the same id (a sign-out racing another) finds
	// nothing, and says so.
	err = writeErr(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.DeleteCredential(ctx, signedOut.ID) })
	wantNotFound(t, "DeleteCredential of a deleted credential", err, signedOut.ID)
}

func testTicketRoundTrip(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	tk := newTicket(f.tenant.ID, f.admin.ID, at(3))
	tk.AssigneeID = f.engineer.ID
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTicket(ctx, tk) })
	got := read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Ticket, error) { return r.GetTicket(ctx, tk.ID) })
	wantEqual(t, "created ticket", got, tk)

	changed := *got
	changed.Title = "Mailbox sync fails (EU)"
	changed.Description = "Updated: only EU mailboxes."
	changed.Severity = lockbox.SeverityCritical
	changed.Status = lockbox.TicketResolved
	changed.AssigneeID = f.lead.ID
	changed.UpdatedAt = at(10)
	changed.ResolvedAt = ptr(at(10))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateTicket(ctx, &changed) })
	got = read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Ticket, error) { return r.GetTicket(ctx, tk.ID) })
	wantEqual(t, "updated ticket", got, &changed)

	// Unassigning reads back as no assignee.
	changed.AssigneeID = ""
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateTicket(ctx, &changed) })
	got = read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Ticket, error) { return r.GetTicket(ctx, tk.ID) })
	wantEqual(t, "unassigned ticket", got, &changed)
}

func testComments(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	other := newTicket(f.tenant.ID, f.admin.ID, at(3))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTicket(ctx, other) })
	var want []lockbox.Comment
	for i, c := range []struct {
		by   lockbox.UserID
		body string
	}{
		{f.admin.ID, "It started on Tuesday."},
		{f.engineer.ID, "Looking into it; I will need read access to the mailbox."},
		{f.admin.ID, "Fine by us.\nThanks!"},
	} {
		cm := lockbox.Comment{ID: lockbox.NewID("cmt"), TicketID: f.ticket.ID, AuthorID: c.by, Body: c.body, CreatedAt: at(10 + i)}
		want = append(want, cm)
		update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
			// A comment on another ticket in between must not show up.
			if err := tx.AddComment(ctx, &lockbox.Comment{ID: lockbox.NewID("cmt"), TicketID: other.ID,
				AuthorID: c.by, Body: "elsewhere", CreatedAt: at(10 + i)}); err != nil {
				return err
			}
			return tx.AddComment(ctx, &cm)
		})
	}
	got := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]lockbox.Comment, error) {
		return r.ListComments(ctx, f.ticket.ID)
	})
	wantEqual(t, "comments, oldest first", got, want)

	none := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]lockbox.Comment, error) {
		return r.ListComments(ctx, newTicket(f.tenant.ID, f.admin.ID, at(0)).ID)
	})
	if len(none) != 0 {
		t.Fatalf("ListComments of a ticket without comments = %v", none)
	}
}

func testNotFound(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	reads := []struct {
		name, id string
		fn       func(ctx context.Context, r lockbox.Reader) error
	}{
		{"GetTenant", "ten_missing", func(ctx context.Context, r lockbox.Reader) error {
			_, err := r.GetTenant(ctx, "ten_missing")
			return err
		}},
		{"GetUser", "usr_missing", func(ctx context.Context, r lockbox.Reader) error {
			_, err := r.GetUser(ctx, "usr_missing")
			return err
		}},
		{"GetUserByEmail", "", func(ctx context.Context, r lockbox.Reader) error {
			_, err := r.GetUserByEmail(ctx, "nobody@nowhere.example")
			return err
		}},
		{"GetCredential", "", func(ctx context.Context, r lockbox.Reader) error {
			_, err := r.GetCredential(ctx, strings.Repeat("00", 32))
			return err
		}},
		{"GetTicket", "tkt_missing", func(ctx context.Context, r lockbox.Reader) error {
			_, err := r.GetTicket(ctx, "tkt_missing")
			return err
		}},
		{"GetRequest", "req_missing", func(ctx context.Context, r lockbox.Reader) error {
			_, err := r.GetRequest(ctx, "req_missing")
			return err
		}},
	}
	for _, tc := range reads {
		wantNotFound(t, tc.name, readErr(t, s, tc.fn), tc.id)
	}

	// Updates of missing rows are not found too, and store nothing.
	tn := newTenant("ghost", at(0))
	u := newOperator("ghost", at(0))
	tk := newTicket(f.tenant.ID, f.admin.ID, at(0))
	r := newRequest(f.ticket, f.engineer.ID, at(0))
	r.Version = 1
	writes := []struct {
		name, id string
		fn       func(ctx context.Context, tx lockbox.Tx) error
	}{
		{"UpdateTenant", string(tn.ID), func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateTenant(ctx, tn) }},
		{"UpdateUser", string(u.ID), func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateUser(ctx, u) }},
		{"UpdateTicket", string(tk.ID), func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateTicket(ctx, tk) }},
		{"UpdateRequest", string(r.ID), func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateRequest(ctx, r) }},
	}
	for _, tc := range writes {
		wantNotFound(t, tc.name, writeErr(t, s, tc.fn), tc.id)
	}
}

func testDuplicateIDs(t *testing.T, s lockbox.Store) {
	f := newFixture(t, s)
	dupTenant := newTenant("copy", at(5))
	dupTenant.ID = f.tenant.ID
	dupUser := newOperator("copy", at(5))
	dupUser.ID = f.engineer.ID
	dupTicket := newTicket(f.tenant.ID, f.admin.ID, at(5))
	dupTicket.ID = f.ticket.ID
	r := f.request(t, s, at(5), nil)
	dupRequest := newRequest(f.ticket, f.engineer.ID, at(6))
	dupRequest.ID = r.ID
	for _, tc := range []struct {
		name string
		fn   func(ctx context.Context, tx lockbox.Tx) error
	}{
		{"CreateTenant", func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTenant(ctx, dupTenant) }},
		{"CreateUser", func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateUser(ctx, dupUser) }},
		{"CreateTicket", func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTicket(ctx, dupTicket) }},
		{"CreateRequest", func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateRequest(ctx, dupRequest) }},
	} {
		wantCode(t, tc.name+" with a taken ID", writeErr(t, s, tc.fn), lockbox.CodeConflict)
	}
	got := read(t, s, func(ctx context.Context, rd lockbox.Reader) (*lockbox.Tenant, error) {
		return rd.GetTenant(ctx, f.tenant.ID)
	})
	wantEqual(t, "tenant after a refused duplicate", got, f.tenant)
}

func testRollbackOnError(t *testing.T, s lockbox.Store) {
	tn := newTenant("acme", at(0))
	errBoom := errors.New("boom")
	err := writeErr(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		if err := tx.AppendEvent(ctx, newEventAt(tn.ID, lockbox.EventTenantCreated, at(0))); err != nil {
			return err
		}
		// The transaction sees its own writes.
		if _, err := tx.GetTenant(ctx, tn.ID); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Update = %v, want fn's error", err)
	}
	assertEmpty(t, s, tn.ID)
}

func testRollbackOnPanic(t *testing.T, s lockbox.Store) {
	tn := newTenant("acme", at(0))
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Fatalf("Update recovered %v, want the panic re-raised", v)
			}
		}()
		_ = s.Update(t.Context(), func(tx lockbox.Tx) error {
			ctx := t.Context()
			if err := tx.CreateTenant(ctx, tn); err != nil {
				return err
			}
			if err := tx.AppendEvent(ctx, newEventAt(tn.ID, lockbox.EventTenantCreated, at(0))); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	assertEmpty(t, s, tn.ID)
	// The store still works.
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateTenant(ctx, tn) })
}

// assertEmpty checks that neither the tenant nor any event of its log was
// stored, and that its log still starts at index 0.
func assertEmpty(t *testing.T, s lockbox.Store, id lockbox.TenantID) {
	t.Helper()
	err := readErr(t, s, func(ctx context.Context, r lockbox.Reader) error {
		_, err := r.GetTenant(ctx, id)
		return err
	})
	wantNotFound(t, "GetTenant after rollback", err, string(id))
	evs := read(t, s, func(ctx context.Context, r lockbox.Reader) ([]*lockbox.Event, error) {
		return r.ListEvents(ctx, lockbox.EventFilter{TenantID: id, After: -1})
	})
	if len(evs) != 0 {
		t.Fatalf("events after rollback: %d, want none", len(evs))
	}
	e := newEventAt(id, lockbox.EventTenantCreated, at(1))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.AppendEvent(ctx, e) })
	if e.Index != 0 {
		t.Fatalf("first event after a rollback has index %d, want 0", e.Index)
	}
}
