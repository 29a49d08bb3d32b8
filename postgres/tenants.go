package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lockbox-dev/lockbox"
)

const tenantColumns = `SELECT id, name, settings, created_at, admin_invited_at FROM tenants`

func scanTenant(row pgx.Row) (*lockbox.Tenant, error) {
	var v lockbox.Tenant
	if err := row.Scan(&v.ID, &v.Name, &v.Lockbox, &v.CreatedAt, &v.AdminInvitedAt); err != nil {
		return nil, err
	}
	return &v, nil
}

// GetTenant implements lockbox.Reader.
func (t *tx) GetTenant(ctx context.Context, id lockbox.TenantID) (*lockbox.Tenant, error) {
	v, err := scanTenant(t.row(ctx, tenantColumns+` WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, notFound("tenant", string(id))
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: get tenant %s: %w", id, err)
	}
	return v, nil
}

// ListTenants implements lockbox.Reader.
func (t *tx) ListTenants(ctx context.Context, f lockbox.TenantFilter) ([]*lockbox.Tenant, string, error) {
	var w filter
	if f.ID != "" {
		w.eq("id", f.ID)
	}
	return listPage(ctx, t, "tenants", tenantColumns, w, f.Page,
		func(r pgx.Rows) (*lockbox.Tenant, error) { return scanTenant(r) },
		func(v *lockbox.Tenant) (time.Time, string) { return v.CreatedAt, string(v.ID) })
}

// CreateTenant implements lockbox.Tx.
func (t *tx) CreateTenant(ctx context.Context, v *lockbox.Tenant) error {
	settings, err := toJSON(v.Lockbox)
	if err != nil {
		return fmt.Errorf("postgres: create tenant %s: %w", v.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO tenants (id, name, settings, created_at, admin_invited_at)
		VALUES ($1, $2, $3, $4, $5)`,
		v.ID, v.Name, settings, ts(v.CreatedAt), tsPtr(v.AdminInvitedAt))
	if err != nil {
		return writeErr(err, "create", "tenant", string(v.ID))
	}
	return nil
}

// UpdateTenant implements lockbox.Tx. It stores the lockbox settings and
// AdminInvitedAt; a tenant's name and creation time do not change here.
func (t *tx) UpdateTenant(ctx context.Context, v *lockbox.Tenant) error {
	settings, err := toJSON(v.Lockbox)
	if err != nil {
		return fmt.Errorf("postgres: update tenant %s: %w", v.ID, err)
	}
	tag, err := t.exec(ctx, `UPDATE tenants SET settings = $1, admin_invited_at = $2 WHERE id = $3`,
		settings, tsPtr(v.AdminInvitedAt), v.ID)
	if err != nil {
		return writeErr(err, "update", "tenant", string(v.ID))
	}
	return one(tag, "tenant", string(v.ID))
}
