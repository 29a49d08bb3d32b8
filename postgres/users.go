package postgres

import (
	"context"
	"fmt"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
)

// CountTenantAdmins implements lockbox.Reader.
func (t *tx) CountTenantAdmins(ctx context.Context, id lockbox.TenantID) (int, error) {
	admin, err := sqlstore.ToJSON([]lockbox.Role{lockbox.RoleTenantAdmin})
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
