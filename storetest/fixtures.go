package storetest

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// Builders of domain values with every field set, so a store that drops a
// column fails a round trip.

func newTenant(name string, created time.Time) *lockbox.Tenant {
	return &lockbox.Tenant{
		ID:   lockbox.TenantID(lockbox.NewID("ten")),
		Name: name,
		Lockbox: lockbox.LockboxSettings{
			Enabled:            true,
			ApprovalsRequired:  2,
			PendingTTL:         lockbox.Duration(90 * time.Minute),
			MaxAccessDuration:  lockbox.Duration(4*time.Hour + 30*time.Second),
			NotificationEmails: []string{"security@" + name + ".example", "ops@" + name + ".example"},
			Webhooks:           []lockbox.Webhook{{URL: "https://hooks.example.com/" + name}},
		},
		CreatedAt:      created,
		AdminInvitedAt: ptr(created.Add(time.Hour + time.Microsecond)),
	}
}

func newOperator(name string, created time.Time, roles ...lockbox.Role) *lockbox.User {
	if len(roles) == 0 {
		roles = []lockbox.Role{lockbox.RoleEngineer}
	}
	id := lockbox.NewID("usr")
	return &lockbox.User{
		ID:           lockbox.UserID(id),
		Kind:         lockbox.KindOperator,
		Email:        name + "." + id + "@operator.example",
		DisplayName:  "Operator " + name,
		Roles:        roles,
		Groups:       []string{"support-leads", "devops-managers"},
		Isolated:     true,
		TOTPEnabled:  true,
		CreatedAt:    created,
		UpdatedAt:    created.Add(2 * time.Minute),
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
		TOTPSecret:   "JBSWY3DPEHPK3PXP",
		TOTPPending:  "KRSXG5CTMVRXEZLU",
		TOTPLastStep: 58_123_456,
	}
}

func newCustomer(tenant lockbox.TenantID, name string, created time.Time, roles ...lockbox.Role) *lockbox.User {
	if len(roles) == 0 {
		roles = []lockbox.Role{lockbox.RoleMember}
	}
	id := lockbox.NewID("usr")
	return &lockbox.User{
		ID:           lockbox.UserID(id),
		Kind:         lockbox.KindCustomer,
		Email:        name + "." + id + "@customer.example",
		DisplayName:  "Customer " + name,
		TenantID:     tenant,
		Roles:        roles,
		Groups:       []string{},
		TOTPEnabled:  true,
		CreatedAt:    created,
		UpdatedAt:    created.Add(3 * time.Minute),
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$b3RoZXJzYWx0$b3RoZXJoYXNo",
		TOTPSecret:   "GEZDGNBVGY3TQOJQ",
		TOTPLastStep: 58_000_001,
	}
}

func newTicket(tenant lockbox.TenantID, by lockbox.UserID, created time.Time) *lockbox.Ticket {
	return &lockbox.Ticket{
		ID:          lockbox.TicketID(lockbox.NewID("tkt")),
		TenantID:    tenant,
		Title:       "Mailbox sync fails",
		Description: "Since Tuesday the mailbox of alice@customer.example stops syncing.\nSee logs.",
		Severity:    2,
		Status:      lockbox.TicketOpen,
		CreatedBy:   by,
		CreatedAt:   created,
		UpdatedAt:   created.Add(time.Minute),
	}
}

// newRequest returns a pending request filed now on the ticket.
func newRequest(tk *lockbox.Ticket, requester lockbox.UserID, created time.Time) *lockbox.AccessRequest {
	return &lockbox.AccessRequest{
		ID:                lockbox.RequestID(lockbox.NewID("req")),
		TenantID:          tk.TenantID,
		TicketID:          tk.ID,
		RequesterID:       requester,
		Resources:         []string{"mailbox:alice", "mailbox:bob"},
		AccessLevel:       lockbox.LevelRead,
		ReasonType:        lockbox.ReasonCustomerInitiated,
		Justification:     "Reproduce the sync failure on the customer's mailbox.",
		RequestedDuration: lockbox.Duration(2 * time.Hour),
		Status:            lockbox.StatusPendingInternal,
		Policy: lockbox.Decision{
			Allowed:                  true,
			Reasons:                  []string{"the requested duration is capped"},
			InternalApprovals:        []lockbox.GroupApprovals{{Group: "support-leads", Count: 1}, {Group: "devops-managers", Count: 2}},
			CustomerApprovalRequired: true,
			MaxDuration:              lockbox.Duration(90 * time.Minute),
			Policies:                 []string{"builtin/mfa-or-isolated", "builtin/max-duration"},
		},
		CreatedAt:        created,
		UpdatedAt:        created,
		DecisionDeadline: created.Add(12 * time.Hour),
	}
}

// fixture is what most tests need: two tenants, operators, customers and a
// ticket, so that foreign keys hold.
type fixture struct {
	tenant, other   *lockbox.Tenant
	engineer, lead  *lockbox.User // operators
	admin, approver *lockbox.User // customers of tenant
	ticket          *lockbox.Ticket
}

func newFixture(t *testing.T, s lockbox.Store) *fixture {
	t.Helper()
	f := &fixture{
		tenant: newTenant("acme", at(0)),
		other:  newTenant("globex", at(0)),
	}
	f.engineer = newOperator("eve", at(1))
	f.lead = newOperator("lee", at(1))
	f.admin = newCustomer(f.tenant.ID, "ada", at(1), lockbox.RoleTenantAdmin)
	f.approver = newCustomer(f.tenant.ID, "abe", at(1), lockbox.RoleLockboxApprover)
	f.ticket = newTicket(f.tenant.ID, f.admin.ID, at(2))
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		for _, v := range []*lockbox.Tenant{f.tenant, f.other} {
			if err := tx.CreateTenant(ctx, v); err != nil {
				return err
			}
		}
		for _, u := range []*lockbox.User{f.engineer, f.lead, f.admin, f.approver} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		return tx.CreateTicket(ctx, f.ticket)
	})
	return f
}

// request stores a request on the fixture's ticket, changed by fn first.
func (f *fixture) request(t *testing.T, s lockbox.Store, created time.Time, fn func(r *lockbox.AccessRequest)) *lockbox.AccessRequest {
	t.Helper()
	r := newRequest(f.ticket, f.engineer.ID, created)
	if fn != nil {
		fn(r)
	}
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.CreateRequest(ctx, r) })
	return r
}

// newEventAt builds an event with every field set.
func newEventAt(tenant lockbox.TenantID, typ lockbox.EventType, when time.Time) *lockbox.Event {
	return &lockbox.Event{
		TenantID:  tenant,
		ID:        lockbox.NewID("evt"),
		Type:      typ,
		Time:      when,
		ActorID:   lockbox.UserID(lockbox.NewID("usr")),
		RequestID: lockbox.RequestID(lockbox.NewID("req")),
		TicketID:  lockbox.TicketID(lockbox.NewID("tkt")),
		Data:      json.RawMessage(`{"from":"pending_internal","to":"pending_customer"}`),
	}
}
