package sqlite

import (
	"context"
	"fmt"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// GetTenant implements lockbox.Reader.
func (t *tx) GetTenant(ctx context.Context, id lockbox.TenantID) (*lockbox.Tenant, error) {
	return sqlstore.GetTenant(ctx, dialect, t, id)
}

// ListTenants implements lockbox.Reader.
func (t *tx) ListTenants(ctx context.Context, f lockbox.TenantFilter) ([]*lockbox.Tenant, string, error) {
	return sqlstore.ListTenants(ctx, dialect, t, f)
}

// CreateTenant implements lockbox.Tx.
func (t *tx) CreateTenant(ctx context.Context, v *lockbox.Tenant) error {
	args, err := sqlstore.TenantInsertArgs(dialect, v)
	if err != nil {
		return fmt.Errorf("sqlite: create tenant %s: %w", v.ID, err)
	}
	if _, err = t.exec(ctx, sqlstore.TenantInsert, args...); err != nil {
		return duplicate(err, "tenant", string(v.ID))
	}
	return nil
}

// UpdateTenant implements lockbox.Tx. It stores the lockbox settings and
// AdminInvitedAt; a tenant's name and creation time do not change here.
func (t *tx) UpdateTenant(ctx context.Context, v *lockbox.Tenant) error {
	args, err := sqlstore.TenantUpdateArgs(dialect, v)
	if err != nil {
		return fmt.Errorf("sqlite: update tenant %s: %w", v.ID, err)
	}
	res, err := t.exec(ctx, sqlstore.TenantUpdate, args...)
	if err != nil {
		return fmt.Errorf("sqlite: update tenant %s: %w", v.ID, err)
	}
	return one(res, "tenant", string(v.ID))
}
