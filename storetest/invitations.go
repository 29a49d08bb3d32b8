package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/lockbox-dev/lockbox"
)

// testInvitations: an invitation survives a round trip by the hash of its
// token, its acceptance and pending second factor are stored, and
// RevokeInvitations ends only the user's open ones.
func testInvitations(t *testing.T, s lockbox.Store) {
	tn := newTenant("acme", at(0))
	ada := newCustomer(tn.ID, "ada", at(1), lockbox.RoleTenantAdmin)
	ada.PasswordHash = ""
	bob := newCustomer(tn.ID, "bob", at(1), lockbox.RoleMember)
	mk := func(id string, u *lockbox.User, created int) *lockbox.Invitation {
		return &lockbox.Invitation{ID: id, UserID: u.ID, TenantID: tn.ID, Hash: lockbox.HashSecret(id), InvitedBy: "usr_op",
			CreatedAt: at(created), ExpiresAt: at(created + 72)}
	}
	first, second, bobs := mk("inv_1", ada, 2), mk("inv_2", ada, 3), mk("inv_3", bob, 4)
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		if err := tx.CreateTenant(ctx, tn); err != nil {
			return err
		}
		for _, u := range []*lockbox.User{ada, bob} {
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
		}
		for _, i := range []*lockbox.Invitation{first, second, bobs} {
			if err := tx.CreateInvitation(ctx, i); err != nil {
				return err
			}
		}
		return nil
	})
	get := func(hash string) *lockbox.Invitation {
		return read(t, s, func(ctx context.Context, r lockbox.Reader) (*lockbox.Invitation, error) {
			return r.GetInvitation(ctx, hash)
		})
	}
	wantEqual(t, "created invitation", get(first.Hash), first)
	err := s.View(context.Background(), func(r lockbox.Reader) error {
		_, err := r.GetInvitation(context.Background(), lockbox.HashSecret("no such token"))
		return err
	})
	if !errors.Is(err, lockbox.ErrNotFound) {
		t.Fatalf("unknown invitation: %v, want ErrNotFound", err)
	}

	// A pending second factor is stored, then acceptance.
	second.TOTPPending = "sealed:v1:abc"
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateInvitation(ctx, second) })
	wantEqual(t, "invitation with a pending second factor", get(second.Hash), second)
	second.AcceptedAt, second.TOTPPending = ptr(at(5)), ""
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error { return tx.UpdateInvitation(ctx, second) })
	wantEqual(t, "accepted invitation", get(second.Hash), second)

	// Revoking ada's open invitations ends the first only: the second is
	// spent, bob's is another user's.
	var n int
	update(t, s, func(ctx context.Context, tx lockbox.Tx) error {
		var err error
		n, err = tx.RevokeInvitations(ctx, ada.ID, at(6))
		return err
	})
	if n != 1 {
		t.Fatalf("RevokeInvitations revoked %d, want 1", n)
	}
	first.RevokedAt = ptr(at(6))
	wantEqual(t, "revoked invitation", get(first.Hash), first)
	wantEqual(t, "accepted invitation after the revocation", get(second.Hash), second)
	wantEqual(t, "another user's invitation", get(bobs.Hash), bobs)
}
