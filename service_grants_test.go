package lockbox_test

import (
	"testing"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// TestIssueToken: a grant token only for an approved request, inside its
// window, to its requester; its exp never past the window end; each token
// in the tenant's log (invariant 1).
func TestIssueToken(t *testing.T) {
	cases := []struct {
		name    string
		setup   func(e *domainEnv) lockbox.RequestID
		caller  func(e *domainEnv) *lockbox.Principal
		code    lockbox.ErrorCode
		events  []lockbox.EventType
		wantExp time.Duration // from now, when issued
	}{
		{"the requester, inside the window", func(e *domainEnv) lockbox.RequestID { return e.approved(time.Hour).ID },
			func(e *domainEnv) *lockbox.Principal { return e.pwd(e.eng) }, "", []lockbox.EventType{lockbox.EventTokenIssued}, 5 * time.Minute},
		{"exp capped at the window end", func(e *domainEnv) lockbox.RequestID {
			id := e.approved(time.Hour).ID
			e.clock.Advance(58 * time.Minute)
			return id
		}, func(e *domainEnv) *lockbox.Principal { return e.pwd(e.eng) }, "", []lockbox.EventType{lockbox.EventTokenIssued}, 2 * time.Minute},
		{"another engineer", func(e *domainEnv) lockbox.RequestID { return e.approved(time.Hour).ID },
			func(e *domainEnv) *lockbox.Principal { return e.mfa(e.eng2) }, lockbox.CodeForbidden, nil, 0},
		{"an operator admin", func(e *domainEnv) lockbox.RequestID { return e.approved(time.Hour).ID },
			func(e *domainEnv) *lockbox.Principal { return e.mfa(e.opAdmin) }, lockbox.CodeForbidden, nil, 0},
		{"the approver", func(e *domainEnv) lockbox.RequestID { return e.approved(time.Hour).ID },
			func(e *domainEnv) *lockbox.Principal { return e.mfa(e.apr1) }, lockbox.CodeForbidden, nil, 0},
		{"another tenant's admin", func(e *domainEnv) lockbox.RequestID { return e.approved(time.Hour).ID },
			func(e *domainEnv) *lockbox.Principal { return e.mfa(e.foreign) }, lockbox.CodeNotFound, nil, 0},
		{"a pending request", func(e *domainEnv) lockbox.RequestID { return e.request(e.ticket, time.Hour).ID },
			func(e *domainEnv) *lockbox.Principal { return e.pwd(e.eng) }, lockbox.CodeConflict, nil, 0},
		{"revoked access", func(e *domainEnv) lockbox.RequestID {
			id := e.approved(time.Hour).ID
			if _, err := e.svc.Revoke(e.ctx, e.mfa(e.apr1), id, "enough"); err != nil {
				e.t.Fatal(err)
			}
			return id
		}, func(e *domainEnv) *lockbox.Principal { return e.pwd(e.eng) }, lockbox.CodeConflict, nil, 0},
		{"after the window: settled on the spot", func(e *domainEnv) lockbox.RequestID {
			id := e.approved(time.Hour).ID
			e.clock.Advance(time.Hour)
			return id
		}, func(e *domainEnv) *lockbox.Principal { return e.pwd(e.eng) }, lockbox.CodeConflict, []lockbox.EventType{lockbox.EventRequestCompleted}, 0},
		{"after the window, another engineer: settled, refused", func(e *domainEnv) lockbox.RequestID {
			id := e.approved(time.Hour).ID
			e.clock.Advance(2 * time.Hour)
			return id
		}, func(e *domainEnv) *lockbox.Principal { return e.pwd(e.eng2) }, lockbox.CodeForbidden, []lockbox.EventType{lockbox.EventRequestCompleted}, 0},
	}
	e := newDomainEnv(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer e.in(t)()
			id := c.setup(e)
			m := e.mark()
			issued := e.issuer.issued
			tok, err := e.svc.IssueToken(e.ctx, c.caller(e), id)
			wantCode(t, "issue", err, c.code)
			e.expectEvents(m, e.acme.ID, c.events...)
			if c.code != "" {
				if tok != nil || e.issuer.issued != issued {
					t.Fatalf("a refused caller got a token signed (%d signed)", e.issuer.issued-issued)
				}
				return
			}
			r := e.stored(id)
			if want := e.clock.Now().Add(c.wantExp); !tok.ExpiresAt.Equal(want) || tok.ExpiresAt.After(*r.AccessExpiresAt) {
				t.Errorf("exp %s, want %s and never after the window end %s", tok.ExpiresAt, want, r.AccessExpiresAt)
			}
			ev := e.events(e.acme.ID)
			last := ev[len(ev)-1]
			if last.RequestID != id || last.ActorID != e.eng.ID {
				t.Errorf("token.issued event %+v", last)
			}
		})
	}
}

// TestIssueTokenPastWindowRefused: the service checks the issuer's exp
// itself, so an issuer that would outlive the window issues nothing.
func TestIssueTokenPastWindowRefused(t *testing.T) {
	e := newDomainEnv(t)
	id := e.approved(time.Hour).ID
	e.issuer.honest, e.issuer.ttl = false, 2*time.Hour
	m := e.mark()
	tok, err := e.svc.IssueToken(e.ctx, e.pwd(e.eng), id)
	wantCode(t, "a token outliving the window", err, lockbox.CodeInternal)
	if tok != nil {
		t.Fatalf("token %+v handed out", tok)
	}
	e.expectEvents(m, e.acme.ID)
}

// TestIssueTokenWithoutIssuer: a server without an issuer says so.
func TestIssueTokenWithoutIssuer(t *testing.T) {
	e := newDomainEnv(t)
	id := e.approved(time.Hour).ID
	svc := lockbox.NewService(lockbox.Config{Store: e.store, Clock: e.clock.Now, Argon2: &lockbox.Argon2Params{Memory: 1024, Time: 1, Threads: 1}})
	_, err := svc.IssueToken(e.ctx, e.pwd(e.eng), id)
	wantCode(t, "no issuer", err, lockbox.CodeInternal)
}

// TestIssueTokenBeforeWindowRefused: the service checks the window itself,
// not only through settling a passed one: a stored window that has not
// started yet gets no token.
func TestIssueTokenBeforeWindowRefused(t *testing.T) {
	e := newDomainEnv(t)
	id := e.approved(time.Hour).ID
	e.update(func(tx lockbox.Tx) error {
		r, err := tx.GetRequest(e.ctx, id)
		if err != nil {
			return err
		}
		start, end := domainT0.Add(time.Hour), domainT0.Add(2*time.Hour)
		r.AccessStartsAt, r.AccessExpiresAt = &start, &end
		return tx.UpdateRequest(e.ctx, r)
	})
	m := e.mark()
	_, err := e.svc.IssueToken(e.ctx, e.pwd(e.eng), id)
	wantCode(t, "a token before the window", err, lockbox.CodeConflict)
	e.expectEvents(m, e.acme.ID)
	if e.issuer.issued != 0 {
		t.Fatal("a token was signed")
	}
}
