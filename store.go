package lockbox

import (
	"context"
	"time"
)

// Store keeps lockbox's state. Every use case runs in one Update transaction
// with the events it appends, so a change and its events commit together or
// not at all (invariant 5).
//
// Transactions on one log are serial: an Update sees no concurrent writer's
// uncommitted work, and of two Updates that append to the same log, one runs
// entirely after the other (SQLite has one writer; PostgreSQL makes every
// append write the log's head row, so the later transaction fails and runs
// again). Use cases rely on this: each appends to the log of the tenant
// whose data it reads and changes. Stores may retry fn on a conflict, so fn
// must have no effects outside tx, and fn must return once a Tx method
// failed (PostgreSQL aborts the transaction).
type Store interface {
	// View runs fn in a read-only transaction.
	View(ctx context.Context, fn func(Reader) error) error
	// Update runs fn in a read-write transaction, committed durably when fn
	// returns nil and rolled back when it returns an error.
	Update(ctx context.Context, fn func(Tx) error) error
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Watch announces every event committed from now on, by any process
	// sharing the database, in well under a second; the channel closes
	// when ctx ends. Notices may be lost when a subscriber lags far behind
	// or the database connection drops (Lost is then sent), so a watcher
	// that must not miss anything re-reads the log from its last index.
	Watch(ctx context.Context) (<-chan EventNotice, error)
	// RunExclusive runs fn while this process holds the named lease, which
	// at most one process sharing the database holds at a time. When the
	// holder dies, its lease passes to a survivor. It returns when ctx ends;
	// fn's context ends when the lease is lost.
	RunExclusive(ctx context.Context, name string, fn func(ctx context.Context)) error

	// GetSecret returns the value of the named secret, such as the log
	// signing key, and its version, which PutSecret takes back. It fails
	// with an error matching ErrNotFound when the secret was never stored.
	// Secrets live in the database, not on a replica's disk, so that every
	// replica sharing the database signs with the same key.
	GetSecret(ctx context.Context, name string) (value []byte, version int64, err error)
	// PutSecret stores a secret by compare-and-set, in a transaction of
	// its own (not inside Update's fn: SQLite's one writer would wait for
	// itself). version is the version the caller read (0 to create the
	// secret), and the secret is stored with version+1. When the stored
	// version is not version (another replica wrote first, the secret
	// already exists on create, or it does not exist on update), nothing
	// changes and the error matches ErrConflict: the caller reads the
	// winner's value instead. The value is stored as given: callers
	// encrypt it.
	PutSecret(ctx context.Context, name string, value []byte, version int64) error

	// CountAttempt adds delta (1 to count an attempt, -1 to give it back)
	// to the counter of key in the fixed window starting at window (Unix
	// seconds), and returns the counter's new value, never below zero. It
	// runs atomically in a transaction of its own (not inside Update's fn),
	// committed whatever the attempt's outcome, so every replica sharing
	// the database counts against one budget (the sign-in throttle,
	// Throttle). Counters of windows before expired are deleted on the way.
	CountAttempt(ctx context.Context, key string, window int64, delta int, expired int64) (int, error)

	Close() error
}

// EventNotice announces a committed event.
type EventNotice struct {
	TenantID  TenantID
	Index     int64
	Type      EventType
	RequestID RequestID
	// Lost is set on a notice that stands for notices that could not be
	// delivered: the watcher must re-read what it follows.
	Lost bool
}

// Reader reads state. Get methods return an error matching ErrNotFound when
// the row does not exist.
type Reader interface {
	GetTenant(ctx context.Context, id TenantID) (*Tenant, error)
	ListTenants(ctx context.Context, f TenantFilter) ([]*Tenant, string, error)

	GetUser(ctx context.Context, id UserID) (*User, error)
	// GetUserByEmail finds an active user by e-mail, case-insensitively.
	GetUserByEmail(ctx context.Context, email string) (*User, error)
	ListUsers(ctx context.Context, f UserFilter) ([]*User, string, error)
	// CountUsers counts every user ever created, removed ones included.
	CountUsers(ctx context.Context) (int, error)
	// CountTenantAdmins counts the active tenant_admin users of a tenant.
	CountTenantAdmins(ctx context.Context, t TenantID) (int, error)

	// GetCredential finds a session or API token by the SHA-256 of its
	// secret.
	GetCredential(ctx context.Context, hash string) (*Credential, error)

	// GetInvitation finds an invitation by the SHA-256 of its token
	// (accepted, revoked and expired ones too).
	GetInvitation(ctx context.Context, hash string) (*Invitation, error)

	GetTicket(ctx context.Context, id TicketID) (*Ticket, error)
	ListTickets(ctx context.Context, f TicketFilter) ([]*Ticket, string, error)
	ListComments(ctx context.Context, id TicketID) ([]Comment, error)

	// GetRequest returns a request with its reviews.
	GetRequest(ctx context.Context, id RequestID) (*AccessRequest, error)
	// ListRequests returns requests with their reviews, newest first.
	ListRequests(ctx context.Context, f RequestFilter) ([]*AccessRequest, string, error)
	// ListDueRequests returns up to limit requests whose deadline passed at
	// now: pending ones past decision_deadline, approved ones past
	// access_expires_at.
	ListDueRequests(ctx context.Context, now time.Time, limit int) ([]RequestID, error)

	// ListEvents returns a tenant's events oldest first.
	ListEvents(ctx context.Context, f EventFilter) ([]*Event, error)

	// ListRevocations returns up to limit ended requests of the revocation
	// feed with a sequence number above after, in sequence order.
	ListRevocations(ctx context.Context, after int64, limit int) ([]Revocation, error)
	// RevocationHead returns the sequence number of the newest item of the
	// feed (0 when it is empty).
	RevocationHead(ctx context.Context) (int64, error)

	// ListNotifications returns notifications with their delivery history,
	// oldest first.
	ListNotifications(ctx context.Context, f NotificationFilter) ([]*Notification, error)
}

// Tx reads and writes inside one transaction.
type Tx interface {
	Reader

	CreateTenant(ctx context.Context, t *Tenant) error
	// UpdateTenant stores the tenant's settings and AdminInvitedAt.
	UpdateTenant(ctx context.Context, t *Tenant) error

	// CreateUser fails with ErrConflict when the e-mail is taken.
	CreateUser(ctx context.Context, u *User) error
	UpdateUser(ctx context.Context, u *User) error

	CreateCredential(ctx context.Context, c *Credential) error
	// DeleteCredentials removes every session and API token of a user.
	DeleteCredentials(ctx context.Context, u UserID) error
	// DeleteCredential removes one session or API token by its id (sign-out
	// ends one session, not every one of the user). It fails with
	// ErrNotFound when no credential has that id.
	DeleteCredential(ctx context.Context, id string) error

	// CreateInvitation stores a new invitation.
	CreateInvitation(ctx context.Context, i *Invitation) error
	// UpdateInvitation stores an invitation's AcceptedAt, RevokedAt and
	// TOTPPending.
	UpdateInvitation(ctx context.Context, i *Invitation) error
	// RevokeInvitations marks every open invitation of a user (neither
	// accepted nor revoked) revoked at at, and reports how many it revoked.
	RevokeInvitations(ctx context.Context, u UserID, at time.Time) (int, error)

	CreateTicket(ctx context.Context, t *Ticket) error
	UpdateTicket(ctx context.Context, t *Ticket) error
	AddComment(ctx context.Context, c *Comment) error

	// CreateRequest stores a new request (with Version 1).
	CreateRequest(ctx context.Context, r *AccessRequest) error
	// UpdateRequest stores r if its stored version is still r.Version, then
	// increments r.Version; otherwise it fails with ErrConflict. Reviews in
	// r.Reviews not yet stored are appended; stored ones never change.
	UpdateRequest(ctx context.Context, r *AccessRequest) error

	// AppendEvent gives e the next index of its tenant's log and stores it
	// with its canonical leaf bytes.
	AppendEvent(ctx context.Context, e *Event) error

	// AppendRevocation adds an ended request to the revocation feed with
	// the next sequence number (set in r.Seq). Numbers come from one
	// counter written in the transaction, so they follow commit order and
	// have no gaps: a reader that saw n has seen every number below n.
	AppendRevocation(ctx context.Context, r *Revocation) error
	// MarkAccessRecord remembers an enforcement point's access record id
	// and reports whether it is new (false: it was recorded before).
	MarkAccessRecord(ctx context.Context, id string, tenant TenantID) (bool, error)

	// EnqueueNotification adds a notification to the outbox, due at
	// n.NextAttemptAt, and reports whether it is new: a notification with
	// the same Key is kept as it is (enqueueing is idempotent).
	EnqueueNotification(ctx context.Context, n *Notification) (bool, error)
}

// Revocation is an ended request in the revocation feed that enforcement
// points follow (invariant 7).
type Revocation struct {
	Seq       int64         `json:"-"`
	RequestID RequestID     `json:"request_id"`
	TenantID  TenantID      `json:"tenant_id"`
	Status    RequestStatus `json:"status"`
	EndedAt   time.Time     `json:"ended_at"`
}

// Credential is a session or a long-lived API token. Only the SHA-256 of the
// secret is stored.
type Credential struct {
	ID        string         `json:"id"`
	UserID    UserID         `json:"user_id"`
	Kind      CredentialKind `json:"kind"`
	Name      string         `json:"name,omitempty"`
	Hash      string         `json:"-"`
	AMR       []string       `json:"amr"`
	CreatedAt time.Time      `json:"created_at"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
}

// CredentialKind is session or api_token.
type CredentialKind string

// Credential kinds.
const (
	CredentialSession  CredentialKind = "session"
	CredentialAPIToken CredentialKind = "api_token"
)

// TenantFilter selects tenants.
type TenantFilter struct {
	ID   TenantID // only this one, when set (customers see their own)
	Page Page
}

// UserFilter selects active users.
type UserFilter struct {
	Kind     UserKind
	TenantID TenantID
	// WithRemoved lists removed users too (for maintenance at start, such
	// as sealing stored secrets); the API never sets it.
	WithRemoved bool
	Page        Page
}

// TicketFilter selects tickets, newest first.
type TicketFilter struct {
	TenantID TenantID
	Status   TicketStatus
	Page     Page
}

// RequestFilter selects requests, newest first.
type RequestFilter struct {
	TenantID    TenantID
	TicketID    TicketID
	RequesterID UserID
	Status      RequestStatus
	Page        Page
}

// CheckSecretArgs refuses the arguments of PutSecret that are programming
// errors; both stores call it.
func CheckSecretArgs(name string, version int64) error {
	if name == "" {
		return Errorf(CodeInvalid, "a secret needs a name")
	}
	if version < 0 {
		return Errorf(CodeInvalid, "secret %s: version %d, want 0 (create) or the version read", name, version)
	}
	return nil
}

// SecretConflict is the error of a PutSecret whose compare-and-set failed:
// the caller read version, the store holds stored (0: no such secret).
func SecretConflict(name string, version, stored int64) error {
	switch {
	case version == 0:
		return Errorf(CodeConflict, "secret %s already exists (version %d)", name, stored)
	case stored == 0:
		return Errorf(CodeConflict, "secret %s does not exist: create it with version 0", name)
	default:
		return Errorf(CodeConflict, "secret %s is at version %d, not %d: it changed since it was read", name, stored, version)
	}
}
