package sqlite

import (
	"context"
	"fmt"

	"github.com/lockbox-dev/lockbox"
)

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
