package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
)

const invitationColumns = `SELECT id, user_id, tenant_id, hash, invited_by, created_at, expires_at,
	accepted_at, revoked_at, totp_pending FROM invitations`

// GetInvitation implements lockbox.Reader.
func (t *tx) GetInvitation(ctx context.Context, hash string) (*lockbox.Invitation, error) {
	var i lockbox.Invitation
	err := t.row(ctx, invitationColumns+` WHERE hash = $1`, hash).Scan(&i.ID, &i.UserID, &i.TenantID, &i.Hash,
		&i.InvitedBy, &i.CreatedAt, &i.ExpiresAt, &i.AcceptedAt, &i.RevokedAt, &i.TOTPPending)
	if errors.Is(err, pgx.ErrNoRows) {
		// The hash is not named: it identifies a secret.
		return nil, lockbox.Errorf(lockbox.CodeNotFound, "invitation not found")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get invitation: %w", err)
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
func (t *tx) CreateInvitation(ctx context.Context, i *lockbox.Invitation) error {
	_, err := t.exec(ctx, `INSERT INTO invitations (id, user_id, tenant_id, hash, invited_by, created_at, expires_at,
		accepted_at, revoked_at, totp_pending) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		i.ID, i.UserID, i.TenantID, i.Hash, i.InvitedBy, ts(i.CreatedAt), ts(i.ExpiresAt),
		tsPtr(i.AcceptedAt), tsPtr(i.RevokedAt), i.TOTPPending)
	if err != nil {
		return writeErr(err, "create", "invitation", i.ID)
	}
	return nil
}

// UpdateInvitation implements lockbox.Tx.
func (t *tx) UpdateInvitation(ctx context.Context, i *lockbox.Invitation) error {
	res, err := t.exec(ctx, `UPDATE invitations SET accepted_at = $1, revoked_at = $2, totp_pending = $3 WHERE id = $4`,
		tsPtr(i.AcceptedAt), tsPtr(i.RevokedAt), i.TOTPPending, i.ID)
	if err != nil {
		return fmt.Errorf("postgres: update invitation %s: %w", i.ID, err)
	}
	if res.RowsAffected() == 0 {
		return notFound("invitation", i.ID)
	}
	return nil
}

// RevokeInvitations implements lockbox.Tx.
func (t *tx) RevokeInvitations(ctx context.Context, u lockbox.UserID, at time.Time) (int, error) {
	res, err := t.exec(ctx, `UPDATE invitations SET revoked_at = $1, totp_pending = ''
		WHERE user_id = $2 AND accepted_at IS NULL AND revoked_at IS NULL`, ts(at), u)
	if err != nil {
		return 0, fmt.Errorf("postgres: revoke invitations of %s: %w", u, err)
	}
	return int(res.RowsAffected()), nil
}
