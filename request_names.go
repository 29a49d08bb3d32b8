package lockbox

import (
	"context"
	"errors"
)

// nameRequests fills who the people of the requests are: the requester's
// display name and e-mail, each reviewer's display name and the name of
// whoever ended it (and the title of the request's ticket), read from the
// users table. It runs for every caller allowed to read the requests, so a
// customer approver sees who asks for access to its tenant and who approved
// it internally, although customers cannot read operator users (the same
// names the approvers' notifications carry). A removed user keeps its name;
// a user that cannot be found leaves the fields empty.
func nameRequests(ctx context.Context, rd Reader, rs ...*AccessRequest) error {
	users := map[UserID]*User{}
	tenants := map[TenantID]*Tenant{}
	titles := map[TicketID]string{}
	get := func(id UserID) (*User, error) {
		if u, ok := users[id]; ok {
			return u, nil
		}
		u, err := rd.GetUser(ctx, id)
		if errors.Is(err, ErrNotFound) {
			u, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
		users[id] = u
		return u, nil
	}
	for _, r := range rs {
		if r == nil {
			continue
		}
		u, err := get(r.RequesterID)
		if err != nil {
			return err
		}
		if u != nil {
			r.RequesterName, r.RequesterEmail = u.DisplayName, u.Email
		}
		title, ok := titles[r.TicketID]
		if !ok {
			t, err := rd.GetTicket(ctx, r.TicketID)
			switch {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return err
			default:
				title = t.Title
			}
			titles[r.TicketID] = title
		}
		r.TicketTitle = title
		if r.EndedBy != "" {
			u, err := get(r.EndedBy)
			if err != nil {
				return err
			}
			if u != nil {
				r.EndedByName = u.DisplayName
			}
		}
		rc := ReviewContext{Reviewers: map[UserID]*User{}}
		for i := range r.Reviews {
			rv := &r.Reviews[i]
			u, err := get(rv.ReviewerID)
			if err != nil {
				return err
			}
			if u != nil {
				rv.ReviewerName = u.DisplayName
				rc.Reviewers[u.ID] = u
			}
		}
		if r.Status == StatusPendingCustomer {
			t, ok := tenants[r.TenantID]
			if !ok {
				if t, err = rd.GetTenant(ctx, r.TenantID); err != nil {
					return err
				}
				tenants[r.TenantID] = t
			}
			p := &ApprovalProgress{Required: t.Lockbox.ApprovalsRequired, By: []string{}}
			for _, u := range r.approvers(StageCustomer, rc) {
				p.Counted++
				p.By = append(p.By, u.DisplayName)
			}
			r.CustomerApprovals = p
		}
	}
	return nil
}

// withNames names the people of requests in a read transaction of its own.
func (s *Service) withNames(ctx context.Context, rs ...*AccessRequest) error {
	return s.view(ctx, func(rd Reader) error { return nameRequests(ctx, rd, rs...) })
}

// nameEvents fills each event's ActorName from the users table, on read:
// the names are no part of the log. Callers pass only events the reader may
// see; a removed user keeps its name, one that cannot be found leaves it
// empty.
func nameEvents(ctx context.Context, rd Reader, evs ...*Event) error {
	names := map[UserID]string{}
	for _, e := range evs {
		if e == nil || e.ActorID == "" {
			continue
		}
		n, ok := names[e.ActorID]
		if !ok {
			u, err := rd.GetUser(ctx, e.ActorID)
			switch {
			case errors.Is(err, ErrNotFound):
			case err != nil:
				return err
			default:
				n = u.DisplayName
			}
			names[e.ActorID] = n
		}
		e.ActorName = n
	}
	return nil
}

// nameTicket fills the names of a ticket read on its own: who opened it,
// who wrote each comment and who acted in each event of its history.
func nameTicket(ctx context.Context, rd Reader, t *Ticket) error {
	ids := []UserID{t.CreatedBy}
	for _, c := range t.Comments {
		ids = append(ids, c.AuthorID)
	}
	evs := make([]*Event, len(ids))
	for i, id := range ids {
		evs[i] = &Event{ActorID: id}
	}
	if err := nameEvents(ctx, rd, append(evs, t.History...)...); err != nil {
		return err
	}
	t.CreatedByName = evs[0].ActorName
	for i := range t.Comments {
		t.Comments[i].AuthorName = evs[i+1].ActorName
	}
	return nil
}
