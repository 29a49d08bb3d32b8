package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/lockbox-dev/lockbox"
)

const tenantColumns = `SELECT id, name, settings, created_at, admin_invited_at FROM tenants`

func scanTenant(row interface{ Scan(...any) error }) (*lockbox.Tenant, error) {
	var t lockbox.Tenant
	err := row.Scan(&t.ID, &t.Name, jsonCol{&t.Lockbox}, timeCol{&t.CreatedAt}, nullTimeCol{&t.AdminInvitedAt})
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// GetTenant implements lockbox.Reader.
func (t *tx) GetTenant(ctx context.Context, id lockbox.TenantID) (*lockbox.Tenant, error) {
	v, err := scanTenant(t.queryRow(ctx, tenantColumns+` WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound("tenant", string(id))
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: get tenant %s: %w", id, err)
	}
	return v, nil
}

// ListTenants implements lockbox.Reader.
func (t *tx) ListTenants(ctx context.Context, f lockbox.TenantFilter) ([]*lockbox.Tenant, string, error) {
	var w filter
	if f.ID != "" {
		w.add("id = ?", f.ID)
	}
	return listPage(ctx, t, tenantColumns, w, f.Page,
		func(r *sql.Rows) (*lockbox.Tenant, error) { return scanTenant(r) },
		func(v *lockbox.Tenant) (time.Time, string) { return v.CreatedAt, string(v.ID) })
}

// CreateTenant implements lockbox.Tx.
func (t *tx) CreateTenant(ctx context.Context, v *lockbox.Tenant) error {
	settings, err := toJSON(v.Lockbox)
	if err != nil {
		return fmt.Errorf("sqlite: create tenant %s: %w", v.ID, err)
	}
	_, err = t.exec(ctx, `INSERT INTO tenants (id, name, settings, created_at, admin_invited_at) VALUES (?, ?, ?, ?, ?)`,
		v.ID, v.Name, settings, fmtTime(v.CreatedAt), fmtNullTime(v.AdminInvitedAt))
	if err != nil {
		return duplicate(err, "tenant", string(v.ID))
	}
	return nil
}

// UpdateTenant implements lockbox.Tx. It stores the lockbox settings and
// AdminInvitedAt; a tenant's name and creation time do not change here.
func (t *tx) UpdateTenant(ctx context.Context, v *lockbox.Tenant) error {
	settings, err := toJSON(v.Lockbox)
	if err != nil {
		return fmt.Errorf("sqlite: update tenant %s: %w", v.ID, err)
	}
	res, err := t.exec(ctx, `UPDATE tenants SET settings = ?, admin_invited_at = ? WHERE id = ?`,
		settings, fmtNullTime(v.AdminInvitedAt), v.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update tenant %s: %w", v.ID, err)
	}
	return one(res, "tenant", string(v.ID))
}
