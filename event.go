package lockbox

import (
	"encoding/json"
	"fmt"
	"time"
)

// EventType names what happened.
type EventType string

// Event types. Each change has exactly one event of its own type; a request
// reaching a new status has a request.<status> event.
const (
	EventTenantCreated  EventType = "tenant.created"
	EventLockboxUpdated EventType = "tenant.lockbox_updated"
	// EventWebhookSecretRotated: a tenant admin gave a webhook a new
	// signing secret (the data names the webhook, never the secret).
	EventWebhookSecretRotated EventType = "tenant.webhook_secret_rotated"
	EventUserCreated          EventType = "user.created"
	EventUserUpdated          EventType = "user.updated"
	EventUserDeleted          EventType = "user.deleted"
	EventTokenCreated         EventType = "user.token_created"
	EventTOTPEnabled          EventType = "user.totp_enabled"
	EventUserInvited          EventType = "user.invited"
	EventInvitationAccepted   EventType = "user.invitation_accepted"
	EventInvitationRevoked    EventType = "user.invitation_revoked"
	EventTicketCreated        EventType = "ticket.created"
	EventTicketCommented      EventType = "ticket.commented"
	EventTicketResolved       EventType = "ticket.resolved"
	EventRequestCreated       EventType = "request.created"
	EventRequestRefused       EventType = "request.refused"
	EventRequestReviewed      EventType = "request.reviewed"
	EventRequestPendingCust   EventType = "request.pending_customer"
	EventRequestApproved      EventType = "request.approved"
	EventRequestDenied        EventType = "request.denied"
	EventRequestExpired       EventType = "request.expired"
	EventRequestCanceled      EventType = "request.canceled"
	EventRequestRevoked       EventType = "request.revoked"
	EventRequestCompleted     EventType = "request.completed"
	EventOperatorUserChanged  EventType = "operator.user_changed"
	// EventPolicyReloaded records in the system log that the JIT policy
	// was replaced by a reload, with the digests of both sources.
	EventPolicyReloaded EventType = "policy.reloaded"
)

// SystemLog is the log of changes that belong to no tenant: operator users,
// their tokens and JIT policy reloads.
const SystemLog TenantID = "system"

// Event is one entry of a tenant's append-only log. Its canonical JSON (the
// struct marshalled by encoding/json, fields in declaration order) is the
// leaf of the tenant's Merkle tree and is stored byte for byte.
type Event struct {
	TenantID  TenantID        `json:"tenant_id"`
	Index     int64           `json:"index"`
	ID        string          `json:"id"`
	Type      EventType       `json:"type"`
	Time      time.Time       `json:"time"`
	ActorID   UserID          `json:"actor_id,omitempty"`
	RequestID RequestID       `json:"request_id,omitempty"`
	TicketID  TicketID        `json:"ticket_id,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	// ActorName is the actor's display name, filled on read for those who
	// may read the log (as requests name their people). It is no part of
	// the event: never stored and never in the leaf (LeafBytes leaves it
	// out), so the log's bytes do not depend on who reads them.
	ActorName string `json:"actor_name,omitempty"`

	// Leaf is the canonical JSON as stored: the bytes the tenant's Merkle
	// tree hashes, served byte for byte. Stores fill it when they read.
	Leaf []byte `json:"-"`
}

// EventFilter selects events of one tenant, oldest first.
type EventFilter struct {
	TenantID  TenantID
	After     int64 // index; -1 for from the start
	Type      EventType
	RequestID RequestID
	TicketID  TicketID
	Limit     int
}

// NewEvent builds an event; data is marshalled to JSON. The store assigns
// the index when it appends.
func NewEvent(t TenantID, typ EventType, actor UserID, now time.Time, data any) *Event {
	e := &Event{TenantID: t, ID: NewID("evt"), Type: typ, Time: now, ActorID: actor}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			panic(err) // event data are plain structs and maps
		}
		e.Data = b
	}
	return e
}

// EventFromLeaf decodes a stored leaf. Stores keep each event once, as its
// leaf, and read the fields back from it. A leaf that does not decode (a
// damaged row) still yields an event with its index, tenant and leaf, so the
// log can be served and the damage found by verification rather than hidden
// by an error.
func EventFromLeaf(tenant TenantID, index int64, leaf []byte) *Event {
	e := &Event{}
	if err := json.Unmarshal(leaf, e); err != nil {
		e = &Event{Type: "invalid"}
	}
	e.ActorName = "" // never from a leaf
	e.TenantID, e.Index, e.Leaf = tenant, index, leaf
	return e
}

// Seal gives the event its index in its log and fixes its canonical form:
// time in UTC microseconds, data as encoding/json writes it inside the leaf
// (compact, HTML-escaped), and Leaf. Stores call it when they append, so the
// event the caller holds is exactly what is read back. Data that is not
// valid JSON is refused.
func (e *Event) Seal(index int64) error {
	e.Index = index
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if len(e.Data) > 0 {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("event %s: its data is not valid JSON", e.ID)
		}
		e.Data = b
	}
	e.Leaf = e.LeafBytes()
	return nil
}

// LeafBytes returns the event's canonical JSON. Names filled on read
// (ActorName) are left out.
func (e *Event) LeafBytes() []byte {
	c := *e
	c.ActorName = ""
	b, err := json.Marshal(&c)
	if err != nil {
		panic(err)
	}
	return b
}
