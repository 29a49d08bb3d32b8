package lockbox

import "strings"

// IsRequest reports whether events of the type are about an access request
// (request.*): the events notifications and the revocation stream react to.
func (t EventType) IsRequest() bool { return strings.HasPrefix(string(t), "request.") }

// IsTicket reports whether events of the type are a ticket's own (ticket.*):
// opened, commented, resolved.
func (t EventType) IsTicket() bool { return strings.HasPrefix(string(t), "ticket.") }

// logAudience is how much of a log a principal may read.
type logAudience int

const (
	seesNothing logAudience = iota
	// seesTickets: a ticket's own events only, as a tenant's members do:
	// they work tickets but read no access request (invariant 4 and the
	// contract's table: requests and the log are the approvers').
	seesTickets
	// seesAll: every event, and so the log's entries, checkpoints and
	// proofs.
	seesAll
)

// audienceOf says how much of log t principal p may read: operators (admins
// and engineers) every log; a tenant's admins and approvers all of their
// tenant's log; its other customers (members) the ticket events; nobody else
// anything. The system log is the operators'.
func audienceOf(p *Principal, t TenantID) logAudience {
	u := p.User
	switch {
	case t == SystemLog:
		if u.IsOperator() {
			return seesAll
		}
		return seesNothing
	case u.IsOperator(), u.IsApproverOf(t):
		return seesAll
	case u.IsCustomerOf(t):
		return seesTickets
	}
	return seesNothing
}

// EventVisible reports whether p may see event e. It is the one rule every
// endpoint and page that shows events applies: the tenant's events
// (GET /v1/tenants/{id}/events, the portal's log page), a ticket's history
// (GET /v1/tickets/{id}, the portal's ticket page) and the log's entries,
// which show every event and so are read only by those who see all of them
// (AuthorizeLogRead). A member sees a ticket's own events, never a
// request.*, token.issued or access.* event.
func EventVisible(p *Principal, e *Event) bool {
	switch audienceOf(p, e.TenantID) {
	case seesAll:
		return true
	case seesTickets:
		return e.Type.IsTicket()
	}
	return false
}

// visibleEvents keeps the events p may see, in order.
func visibleEvents(p *Principal, events []*Event) []*Event {
	out := events[:0:0]
	for _, e := range events {
		if EventVisible(p, e) {
			out = append(out, e)
		}
	}
	return out
}
