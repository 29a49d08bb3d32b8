package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
)

const invitationColumns = `SELECT id, user_id, tenant_id, hash, invited_by, created_at, expires_at,
	accepted_at, revoked_at, totp_pending FROM invitations`

// GetInvitation implements lockbox.Reader.
func (t *tx) GetInvitation(ctx context.Context, hash string) (*lockbox.Invitation, error) {
	var i lockbox.Invitation
	err := t.queryRow(ctx, invitationColumns+` WHERE hash = ?`, hash).Scan(&i.ID, &i.UserID, &i.TenantID, &i.Hash,
		&i.InvitedBy, timeCol{&i.CreatedAt}, timeCol{&i.ExpiresAt}, nullTimeCol{&i.AcceptedAt}, nullTimeCol{&i.RevokedAt}, &i.TOTPPending)
	if errors.Is(err, sql.ErrNoRows) {
		// The hash is not named: it identifies a secret.
		return nil, lockbox.Errorf(lockbox.CodeNotFound, "invitation not found")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get invitation: %w", err)
	}
	return &i, nil
}

// CreateInvitation implements lockbox.Tx.
func (t *tx) CreateInvitation(ctx context.Context, i *lockbox.Invitation) error {
	_, err := t.exec(ctx, `INSERT INTO invitations (id, user_id, tenant_id, hash, invited_by, created_at, expires_at,
		accepted_at, revoked_at, totp_pending) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		i.ID, i.UserID, i.TenantID, i.Hash, i.InvitedBy, fmtTime(i.CreatedAt), fmtTime(i.ExpiresAt),
		fmtNullTime(i.AcceptedAt), fmtNullTime(i.RevokedAt), i.TOTPPending)
	if err != nil {
		return duplicate(err, "invitation", i.ID)
	}
	return nil
}

// UpdateInvitation implements lockbox.Tx.
func (t *tx) UpdateInvitation(ctx context.Context, i *lockbox.Invitation) error {
	res, err := t.exec(ctx, `UPDATE invitations SET accepted_at = ?, revoked_at = ?, totp_pending = ? WHERE id = ?`,
		fmtNullTime(i.AcceptedAt), fmtNullTime(i.RevokedAt), i.TOTPPending, i.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update invitation %s: %w", i.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("invitation", i.ID)
	}
	return nil
}

// RevokeInvitations implements lockbox.Tx.
func (t *tx) RevokeInvitations(ctx context.Context, u lockbox.UserID, at time.Time) (int, error) {
	res, err := t.exec(ctx, `UPDATE invitations SET revoked_at = ?, totp_pending = ''
		WHERE user_id = ? AND accepted_at IS NULL AND revoked_at IS NULL`, fmtTime(at), u)
	if err != nil {
		return 0, fmt.Errorf("sqlite: revoke invitations of %s: %w", u, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
