package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// GetUser implements lockbox.Reader. It returns removed users too: their
// IDs stay in requests, reviews and events.
func (t *tx) GetUser(ctx context.Context, id lockbox.UserID) (*lockbox.User, error) {
	return sqlstore.GetUser(ctx, dialect, t, id)
}

// GetUserByEmail implements lockbox.Reader. It compares lower(email), as the
// unique index users_email does, so the lookup uses that index.
func (t *tx) GetUserByEmail(ctx context.Context, email string) (*lockbox.User, error) {
	u, err := sqlstore.ScanUser(dialect, t.row(ctx, dialect.Q(sqlstore.UserSelect+` WHERE lower(email) = lower(?) AND deleted_at IS NULL`), email))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, lockbox.Errorf(lockbox.CodeNotFound, "no user with e-mail %s", email)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get user by e-mail: %w", err)
	}
	return u, nil
}

// ListUsers implements lockbox.Reader: active users only.
func (t *tx) ListUsers(ctx context.Context, f lockbox.UserFilter) ([]*lockbox.User, string, error) {
	return sqlstore.ListUsers(ctx, dialect, t, f)
}

// CountUsers implements lockbox.Reader.
func (t *tx) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := t.row(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count users: %w", err)
	}
	return n, nil
}

// CountTenantAdmins implements lockbox.Reader.
func (t *tx) CountTenantAdmins(ctx context.Context, id lockbox.TenantID) (int, error) {
	admin, err := toJSON([]lockbox.Role{lockbox.RoleTenantAdmin})
	if err != nil {
		return 0, err
	}
	var n int
	err = t.row(ctx, `SELECT COUNT(*) FROM users
		WHERE tenant_id = $1 AND kind = 'customer' AND deleted_at IS NULL AND roles @> $2::jsonb`,
		id, admin).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("postgres: count tenant admins of %s: %w", id, err)
	}
	return n, nil
}

// userErr turns a violation of the e-mail index into ErrConflict.
func userErr(err error, u *lockbox.User, op string) error {
	if violates(err, "users_email") {
		return lockbox.Errorf(lockbox.CodeConflict, "a user with e-mail %s already exists", u.Email)
	}
	return writeErr(err, op, "user", string(u.ID))
}

// CreateUser implements lockbox.Tx.
func (t *tx) CreateUser(ctx context.Context, u *lockbox.User) error {
	args, err := sqlstore.UserInsertArgs(dialect, u)
	if err != nil {
		return fmt.Errorf("postgres: create user %s: %w", u.ID, err)
	}
	if _, err = t.exec(ctx, dialect.Q(sqlstore.UserInsert), args...); err != nil {
		return userErr(err, u, "create")
	}
	return nil
}

// UpdateUser implements lockbox.Tx. A user's kind, tenant and creation time
// never change: moving a user between tenants would hand it another
// tenant's approvals.
func (t *tx) UpdateUser(ctx context.Context, u *lockbox.User) error {
	args, err := sqlstore.UserUpdateArgs(dialect, u)
	if err != nil {
		return fmt.Errorf("postgres: update user %s: %w", u.ID, err)
	}
	tag, err := t.exec(ctx, dialect.Q(sqlstore.UserUpdate), args...)
	if err != nil {
		return userErr(err, u, "update")
	}
	return one(tag, "user", string(u.ID))
}

// GetCredential implements lockbox.Reader.
func (t *tx) GetCredential(ctx context.Context, hash string) (*lockbox.Credential, error) {
	var c lockbox.Credential
	err := t.row(ctx, `SELECT id, user_id, kind, name, hash, amr, created_at, expires_at
		FROM credentials WHERE hash = $1`, hash).
		Scan(&c.ID, &c.UserID, &c.Kind, &c.Name, &c.Hash, &c.AMR, &c.CreatedAt, &c.ExpiresAt)
	if errors.Is(err, pgx.ErrNoRows) {
		// The hash is not named: it identifies a secret.
		return nil, lockbox.Errorf(lockbox.CodeNotFound, "credential not found")
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get credential: %w", err)
	}
	return &c, nil
}

// CreateCredential implements lockbox.Tx.
func (t *tx) CreateCredential(ctx context.Context, c *lockbox.Credential) error {
	amr, err := toJSON(c.AMR)
	if err != nil {
		return fmt.Errorf("postgres: create credential %s: %w", c.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO credentials (id, user_id, kind, name, hash, amr, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, c.UserID, c.Kind, c.Name, c.Hash, amr, ts(c.CreatedAt), tsPtr(c.ExpiresAt))
	if err != nil {
		if violates(err, "credentials_hash") {
			return lockbox.Errorf(lockbox.CodeConflict, "credential %s: the secret's hash is already stored", c.ID)
		}
		return writeErr(err, "create", "credential", c.ID)
	}
	return nil
}

// DeleteCredential implements lockbox.Tx.
func (t *tx) DeleteCredential(ctx context.Context, id string) error {
	res, err := t.exec(ctx, `DELETE FROM credentials WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: delete credential %s: %w", id, err)
	}
	if res.RowsAffected() == 0 {
		return lockbox.Errorf(lockbox.CodeNotFound, "credential %s not found", id)
	}
	return nil
}

// DeleteCredentials implements lockbox.Tx.
func (t *tx) DeleteCredentials(ctx context.Context, u lockbox.UserID) error {
	if _, err := t.exec(ctx, `DELETE FROM credentials WHERE user_id = $1`, u); err != nil {
		return fmt.Errorf("postgres: delete credentials of user %s: %w", u, err)
	}
	return nil
}
