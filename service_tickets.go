package lockbox

import (
	"context"
	"strings"
)

// ticketAccess checks that p may see and work tickets of tenant t: the
// tenant's customers (any role) and operators.
func ticketAccess(p *Principal, t TenantID) error {
	return tenantVisible(p, t)
}

// CreateTicket opens a support ticket for a tenant.
func (s *Service) CreateTicket(ctx context.Context, p *Principal, in CreateTicketInput) (*Ticket, error) {
	if in.TenantID == "" {
		return nil, Errorf(CodeInvalid, "tenant_id is required")
	}
	if err := ticketAccess(p, in.TenantID); err != nil {
		return nil, err
	}
	if err := ValidateName("title", in.Title); err != nil {
		return nil, err
	}
	if err := ValidateText("description", in.Description, false); err != nil {
		return nil, err
	}
	if in.Severity < SeverityCritical || in.Severity > SeverityLow {
		return nil, Errorf(CodeInvalid, "severity must be 1 (critical) to 4 (low)")
	}
	now := s.now()
	t := &Ticket{
		ID: TicketID(NewID("tkt")), TenantID: in.TenantID, Title: strings.TrimSpace(in.Title),
		Description: in.Description, Severity: in.Severity, Status: TicketOpen, CreatedBy: p.ID(),
		AssigneeID: in.AssigneeID, CreatedAt: now, UpdatedAt: now,
		OpenedBy: p.User.Kind, SeveritySetBy: p.User.Kind, SeveritySetByUser: p.ID(),
	}
	err := s.update(ctx, func(tx *txn) error {
		if _, err := tx.GetTenant(ctx, in.TenantID); err != nil {
			return err
		}
		if in.AssigneeID != "" {
			a, err := tx.GetUser(ctx, in.AssigneeID)
			if err != nil || !a.IsOperator() {
				return Errorf(CodeInvalid, "assignee_id %s is not an operator engineer", in.AssigneeID)
			}
		}
		if err := tx.CreateTicket(ctx, t); err != nil {
			return err
		}
		e := NewEvent(t.TenantID, EventTicketCreated, p.ID(), now,
			map[string]any{"title": t.Title, "severity": t.Severity, "assignee_id": t.AssigneeID,
				"opened_by": t.OpenedBy, "severity_set_by": t.SeveritySetBy})
		e.TicketID = t.ID
		return tx.emit(e)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// GetTicket reads a ticket with its comments and its history: the events of
// the tenant's log that concern it, access requests included, as far as p
// may see them (EventVisible: a member sees the ticket's own events only).
func (s *Service) GetTicket(ctx context.Context, p *Principal, id TicketID) (*Ticket, error) {
	var t *Ticket
	err := s.view(ctx, func(r Reader) error {
		var err error
		if t, err = r.GetTicket(ctx, id); err != nil {
			return err
		}
		if err := ticketAccess(p, t.TenantID); err != nil {
			return Errorf(CodeNotFound, "ticket %s not found", id)
		}
		if err := fillTicketFacts(ctx, r, t); err != nil {
			return err
		}
		if t.Comments, err = r.ListComments(ctx, id); err != nil {
			return err
		}
		if t.History, err = r.ListEvents(ctx, EventFilter{TenantID: t.TenantID, After: -1, TicketID: id}); err != nil {
			return err
		}
		t.History = visibleEvents(p, t.History)
		return nameTicket(ctx, r, t)
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// ListTickets lists tickets, newest first: operators any tenant's, customers
// their own tenant's.
func (s *Service) ListTickets(ctx context.Context, p *Principal, f TicketFilter) (List[*Ticket], error) {
	u := p.User
	switch {
	case u.IsOperator():
	case u.Kind == KindCustomer && u.Active():
		if f.TenantID != "" && f.TenantID != u.TenantID {
			return List[*Ticket]{}, Errorf(CodeNotFound, "tenant %s not found", f.TenantID)
		}
		f.TenantID = u.TenantID
	default:
		return List[*Ticket]{}, Errorf(CodeForbidden, "gateway accounts cannot list tickets")
	}
	if f.Status != "" && f.Status != TicketOpen && f.Status != TicketResolved {
		return List[*Ticket]{}, Errorf(CodeInvalid, "status must be open or resolved")
	}
	var out List[*Ticket]
	err := s.view(ctx, func(r Reader) error {
		var err error
		if out.Items, out.NextPageToken, err = r.ListTickets(ctx, f); err != nil {
			return err
		}
		return fillTicketFacts(ctx, r, out.Items...)
	})
	return out, err
}

// AddComment adds a comment to an open ticket.
func (s *Service) AddComment(ctx context.Context, p *Principal, id TicketID, in CommentInput) (*Comment, error) {
	if err := ValidateText("body", in.Body, true); err != nil {
		return nil, err
	}
	var c *Comment
	err := s.update(ctx, func(tx *txn) error {
		t, err := s.workTicket(ctx, tx, p, id)
		if err != nil {
			return err
		}
		now := s.now()
		c = &Comment{ID: NewID("cmt"), TicketID: id, AuthorID: p.ID(), Body: in.Body, CreatedAt: now}
		if err := tx.AddComment(ctx, c); err != nil {
			return err
		}
		t.UpdatedAt = now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return err
		}
		e := NewEvent(t.TenantID, EventTicketCommented, p.ID(), now, map[string]any{"comment_id": c.ID})
		e.TicketID = id
		return tx.emit(e)
	})
	return c, err
}

// workTicket loads an open ticket p may work on.
func (s *Service) workTicket(ctx context.Context, tx *txn, p *Principal, id TicketID) (*Ticket, error) {
	t, err := tx.GetTicket(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := ticketAccess(p, t.TenantID); err != nil {
		return nil, Errorf(CodeNotFound, "ticket %s not found", id)
	}
	if t.Status != TicketOpen {
		return nil, Errorf(CodeConflict, "ticket %s is resolved", id)
	}
	return t, fillTicketFacts(ctx, tx, t)
}

// ResolveTicket resolves a ticket. In the same transaction its approved
// access completes (end_reason ticket_resolved) and its pending requests are
// canceled: nobody keeps or gains access for a closed case.
func (s *Service) ResolveTicket(ctx context.Context, p *Principal, id TicketID) (*Ticket, error) {
	var out *Ticket
	err := s.update(ctx, func(tx *txn) error {
		t, err := s.workTicket(ctx, tx, p, id)
		if err != nil {
			return err
		}
		now := s.now()
		t.Status, t.UpdatedAt, t.ResolvedAt = TicketResolved, now, &now
		if err := tx.UpdateTicket(ctx, t); err != nil {
			return err
		}
		e := NewEvent(t.TenantID, EventTicketResolved, p.ID(), now, nil)
		e.TicketID = id
		if err := tx.emit(e); err != nil {
			return err
		}
		f := RequestFilter{TicketID: id, Page: Page{Size: MaxPageSize}}
		for {
			reqs, next, err := tx.ListRequests(ctx, f)
			if err != nil {
				return err
			}
			for _, r := range reqs {
				from := r.Status
				if r.Settle(now) {
					if err := s.saveTransition(tx, r, from, nil); err != nil {
						return err
					}
					continue
				}
				if r.ResolveTicket(p.ID(), now) {
					if err := s.saveTransition(tx, r, from, nil); err != nil {
						return err
					}
				}
			}
			if next == "" {
				break
			}
			f.Page.Token = next
		}
		out = t
		return nil
	})
	return out, err
}

// ListEvents reads a tenant's log, oldest first, after the given index (-1
// for the start): the tenant's admins and approvers, and operators.
func (s *Service) ListEvents(ctx context.Context, p *Principal, f EventFilter) ([]*Event, error) {
	if f.Limit < 1 || f.Limit > MaxPageSize {
		return nil, Errorf(CodeInvalid, "page_size must be between 1 and %d", MaxPageSize)
	}
	if err := s.AuthorizeLogRead(ctx, p, f.TenantID); err != nil {
		return nil, err
	}
	var out []*Event
	err := s.view(ctx, func(r Reader) error {
		var err error
		if out, err = r.ListEvents(ctx, f); err != nil {
			return err
		}
		// AuthorizeLogRead let only readers of the whole log this far; the
		// rule is applied all the same, so no list of events escapes it.
		out = visibleEvents(p, out)
		return nameEvents(ctx, r, out...)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AuthorizeLogRead checks that p may read tenant t's log (its events, and
// its Merkle tree's checkpoints, entries and proofs): the tenant's admins
// and approvers, and operators. The system log (operator users) is the
// operators'. An empty tenant asks for what every log reader may see, such
// as the log's public key.
func (s *Service) AuthorizeLogRead(ctx context.Context, p *Principal, t TenantID) error {
	u := p.User
	switch {
	case t == "":
		if u.IsOperator() || (u.Kind == KindCustomer && u.IsApproverOf(u.TenantID)) {
			return nil
		}
		return Errorf(CodeForbidden, "only operators and tenants' admins and approvers read logs")
	case t == SystemLog:
		if audienceOf(p, t) == seesAll {
			return nil
		}
		return Errorf(CodeNotFound, "tenant %s not found", t)
	}
	if err := tenantVisible(p, t); err != nil {
		return err
	}
	// The entries, checkpoints and proofs show every event: only those who
	// may see all of them (EventVisible) read them.
	if audienceOf(p, t) != seesAll {
		return Errorf(CodeForbidden, "only the tenant's admins and approvers, and operators, read its log")
	}
	return s.view(ctx, func(r Reader) error {
		_, err := r.GetTenant(ctx, t)
		return err
	})
}
