package lockbox

import (
	"context"
	"time"
)

// EventTokenIssued records that a grant token was issued: every token the
// customer's content can be opened with is in the tenant's log.
const EventTokenIssued EventType = "token.issued"

// IssuedToken is a signed grant token with the claims the service records.
type IssuedToken struct {
	Token     string
	ID        string // the jti claim
	ExpiresAt time.Time
}

// TokenIssuer signs grant tokens (package grant's issuer, wired by package
// app, so this package imports none of its subpackages). It must refuse a
// request that is not approved or a now outside its window, and cap exp at
// the window end.
type TokenIssuer interface {
	IssueToken(r *AccessRequest, now time.Time) (IssuedToken, error)
}

// GrantToken is the answer of POST /v1/requests/{id}/token.
type GrantToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// IssueToken issues a grant token for an approved request to its requester
// (invariant 1). The request is settled first, so a passed window is never
// honoured; the token is signed inside the transaction that appends its
// token.issued event and is returned only once that commit succeeded, so no
// token exists that the tenant's log does not show.
func (s *Service) IssueToken(ctx context.Context, p *Principal, id RequestID) (*GrantToken, error) {
	if s.issuer == nil {
		return nil, Errorf(CodeInternal, "this server issues no grant tokens")
	}
	var out *GrantToken
	var late error
	err := s.update(ctx, func(tx *txn) error {
		out, late = nil, nil
		r, settled, err := s.loadRequest(tx, p, id)
		if err != nil {
			return err
		}
		if r.RequesterID != p.User.ID || !p.User.Active() {
			if settled {
				late = Errorf(CodeForbidden, "only the requester obtains grant tokens for request %s", r.ID)
				return nil // the settlement commits
			}
			return Errorf(CodeForbidden, "only the requester obtains grant tokens for request %s", r.ID)
		}
		if !p.User.CanRequest() {
			// The role the request relied on is re-checked at every issue
			// (invariant 12), not only when the request was filed.
			err := Errorf(CodeForbidden, "grant tokens are issued only to operator engineers: you no longer hold the engineer role")
			if settled {
				late = err
				return nil
			}
			return err
		}
		if settled {
			late = Errorf(CodeConflict, "request %s is %s (%s): no grant token", r.ID, r.Status, r.EndReason)
			return nil
		}
		now := s.now()
		if r.Status != StatusApproved {
			return Errorf(CodeConflict, "request %s is %s: grant tokens are issued only for approved requests", r.ID, r.Status)
		}
		if r.AccessStartsAt == nil || r.AccessExpiresAt == nil || now.Before(*r.AccessStartsAt) || !now.Before(*r.AccessExpiresAt) {
			return Errorf(CodeConflict, "request %s: now is outside its access window", r.ID)
		}
		tok, err := s.issuer.IssueToken(r, now)
		if err != nil {
			return err
		}
		if tok.ExpiresAt.After(*r.AccessExpiresAt) {
			return Errorf(CodeInternal, "grant token for %s would outlive its window", r.ID)
		}
		e := NewEvent(r.TenantID, EventTokenIssued, p.User.ID, now, map[string]any{
			"jti": tok.ID, "expires_at": tok.ExpiresAt.UTC(), "requester_id": r.RequesterID,
			"resources": r.Resources, "access_level": r.AccessLevel,
		})
		e.RequestID, e.TicketID = r.ID, r.TicketID
		if err := tx.emit(e); err != nil {
			return err
		}
		out = &GrantToken{Token: tok.Token, ExpiresAt: tok.ExpiresAt.UTC()}
		return nil
	})
	if err == nil {
		err = late
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}
