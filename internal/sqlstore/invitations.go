package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
)

// GetInvitation implements lockbox.Reader. Times are in UTC.
func (t Tx) GetInvitation(ctx context.Context, hash string) (*lockbox.Invitation, error) {
	var i lockbox.Invitation
	err := t.Q.QueryRow(ctx, t.D.Q(`SELECT id, user_id, tenant_id, hash, invited_by, created_at, expires_at,
		accepted_at, revoked_at, totp_pending FROM invitations WHERE hash = ?`), hash).
		Scan(&i.ID, &i.UserID, &i.TenantID, &i.Hash, &i.InvitedBy, t.D.TimeDest(&i.CreatedAt), t.D.TimeDest(&i.ExpiresAt),
			t.D.NullTimeDest(&i.AcceptedAt), t.D.NullTimeDest(&i.RevokedAt), &i.TOTPPending)
	if t.D.NoRows(err) {
		// The hash is not named: it identifies a secret.
		return nil, lockbox.Errorf(lockbox.CodeNotFound, "invitation not found")
	}
	if err != nil {
		return nil, fmt.Errorf("%s: get invitation: %w", t.D.Name, err)
	}
	i.CreatedAt, i.ExpiresAt = i.CreatedAt.UTC(), i.ExpiresAt.UTC()
	for _, p := range []*time.Time{i.AcceptedAt, i.RevokedAt} {
		if p != nil {
			*p = p.UTC()
		}
	}
	return &i, nil
}

// CreateInvitation implements lockbox.Tx.
func (t Tx) CreateInvitation(ctx context.Context, i *lockbox.Invitation) error {
	_, err := t.exec(ctx, `INSERT INTO invitations (id, user_id, tenant_id, hash, invited_by, created_at, expires_at,
		accepted_at, revoked_at, totp_pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		i.ID, i.UserID, i.TenantID, i.Hash, i.InvitedBy, t.D.Time(i.CreatedAt), t.D.Time(i.ExpiresAt),
		t.D.NullTime(i.AcceptedAt), t.D.NullTime(i.RevokedAt), i.TOTPPending)
	if err != nil {
		return t.D.WriteErr(err, "create", "invitation", i.ID)
	}
	return nil
}

// UpdateInvitation implements lockbox.Tx.
func (t Tx) UpdateInvitation(ctx context.Context, i *lockbox.Invitation) error {
	n, err := t.exec(ctx, `UPDATE invitations SET accepted_at = ?, revoked_at = ?, totp_pending = ? WHERE id = ?`,
		t.D.NullTime(i.AcceptedAt), t.D.NullTime(i.RevokedAt), i.TOTPPending, i.ID)
	if err != nil {
		return fmt.Errorf("%s: update invitation %s: %w", t.D.Name, i.ID, err)
	}
	return one(n, "invitation", i.ID)
}

// RevokeInvitations implements lockbox.Tx.
func (t Tx) RevokeInvitations(ctx context.Context, u lockbox.UserID, at time.Time) (int, error) {
	n, err := t.exec(ctx, `UPDATE invitations SET revoked_at = ?, totp_pending = ''
		WHERE user_id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, t.D.Time(at), u)
	if err != nil {
		return 0, fmt.Errorf("%s: revoke invitations of %s: %w", t.D.Name, u, err)
	}
	return int(n), nil
}
