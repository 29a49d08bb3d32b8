package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// GetUser implements lockbox.Reader. It returns removed users too: their
// names still label what they did.
func (t *tx) GetUser(ctx context.Context, id lockbox.UserID) (*lockbox.User, error) {
	return sqlstore.GetUser(ctx, dialect, t, id)
}

// GetUserByEmail implements lockbox.Reader. The e-mail column compares
// without regard to (ASCII) case.
func (t *tx) GetUserByEmail(ctx context.Context, email string) (*lockbox.User, error) {
	u, err := sqlstore.ScanUser(dialect, t.queryRow(ctx, sqlstore.UserSelect+` WHERE email = ? AND deleted_at IS NULL`, email))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, lockbox.Errorf(lockbox.CodeNotFound, "no user with e-mail %s", email)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get user by e-mail: %w", err)
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
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count users: %w", err)
	}
	return n, nil
}

// CountTenantAdmins implements lockbox.Reader.
func (t *tx) CountTenantAdmins(ctx context.Context, id lockbox.TenantID) (int, error) {
	var n int
	err := t.queryRow(ctx, `SELECT COUNT(*) FROM users
		WHERE tenant_id = ? AND kind = 'customer' AND deleted_at IS NULL
		AND EXISTS (SELECT 1 FROM json_each(users.roles) WHERE value = ?)`,
		id, lockbox.RoleTenantAdmin).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count tenant admins of %s: %w", id, err)
	}
	return n, nil
}

// userConflict turns a violation of the e-mail index into ErrConflict.
func userConflict(err error, u *lockbox.User, op string) error {
	if msg, ok := isUnique(err); ok && strings.Contains(msg, "users.email") {
		return lockbox.Errorf(lockbox.CodeConflict, "a user with e-mail %s already exists", u.Email)
	}
	if op == "create" {
		return duplicate(err, "user", string(u.ID))
	}
	return fmt.Errorf("sqlite: %s user %s: %w", op, u.ID, err)
}

// CreateUser implements lockbox.Tx.
func (t *tx) CreateUser(ctx context.Context, u *lockbox.User) error {
	args, err := sqlstore.UserInsertArgs(dialect, u)
	if err != nil {
		return fmt.Errorf("sqlite: create user %s: %w", u.ID, err)
	}
	if _, err = t.exec(ctx, sqlstore.UserInsert, args...); err != nil {
		return userConflict(err, u, "create")
	}
	return nil
}

// UpdateUser implements lockbox.Tx. A user's kind, tenant and creation time
// never change: moving a user between tenants would hand it another
// tenant's approvals.
func (t *tx) UpdateUser(ctx context.Context, u *lockbox.User) error {
	args, err := sqlstore.UserUpdateArgs(dialect, u)
	if err != nil {
		return fmt.Errorf("sqlite: update user %s: %w", u.ID, err)
	}
	res, err := t.exec(ctx, sqlstore.UserUpdate, args...)
	if err != nil {
		return userConflict(err, u, "update")
	}
	return one(res, "user", string(u.ID))
}

// GetCredential implements lockbox.Reader.
func (t *tx) GetCredential(ctx context.Context, hash string) (*lockbox.Credential, error) {
	var c lockbox.Credential
	err := t.queryRow(ctx, `SELECT id, user_id, kind, name, hash, amr, created_at, expires_at
		FROM credentials WHERE hash = ?`, hash).
		Scan(&c.ID, &c.UserID, &c.Kind, &c.Name, &c.Hash, jsonCol{&c.AMR}, timeCol{&c.CreatedAt},
			nullTimeCol{&c.ExpiresAt})
	if errors.Is(err, sql.ErrNoRows) {
		// The hash is not named: it identifies a secret.
		return nil, lockbox.Errorf(lockbox.CodeNotFound, "credential not found")
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get credential: %w", err)
	}
	return &c, nil
}

// CreateCredential implements lockbox.Tx.
func (t *tx) CreateCredential(ctx context.Context, c *lockbox.Credential) error {
	amr, err := toJSON(c.AMR)
	if err != nil {
		return fmt.Errorf("sqlite: create credential %s: %w", c.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO credentials (id, user_id, kind, name, hash, amr, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.UserID, c.Kind, c.Name, c.Hash, amr, fmtTime(c.CreatedAt), fmtNullTime(c.ExpiresAt))
	if err != nil {
		if msg, ok := isUnique(err); ok && strings.Contains(msg, "credentials.hash") {
			return lockbox.Errorf(lockbox.CodeConflict, "credential %s: the secret's hash is already stored", c.ID)
		}
		return duplicate(err, "credential", c.ID)
	}
	return nil
}

// DeleteCredential implements lockbox.Tx.
func (t *tx) DeleteCredential(ctx context.Context, id string) error {
	res, err := t.exec(ctx, `DELETE FROM credentials WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: delete credential %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: delete credential %s: %w", id, err)
	} else if n == 0 {
		return lockbox.Errorf(lockbox.CodeNotFound, "credential %s not found", id)
	}
	return nil
}

// DeleteCredentials implements lockbox.Tx.
func (t *tx) DeleteCredentials(ctx context.Context, u lockbox.UserID) error {
	if _, err := t.exec(ctx, `DELETE FROM credentials WHERE user_id = ?`, u); err != nil {
		return fmt.Errorf("sqlite: delete credentials of user %s: %w", u, err)
	}
	return nil
}
