package client

import (
	"context"

	"github.com/lockbox-dev/lockbox"
)

// CreateTenant creates a customer organisation with the secure default
// lockbox settings. Operator admins only.
func (c *Client) CreateTenant(ctx context.Context, in lockbox.CreateTenantInput) (*lockbox.Tenant, error) {
	return postID[lockbox.Tenant](ctx, c, in, "/v1/tenants")
}

// GetTenant returns a tenant with its lockbox settings.
func (c *Client) GetTenant(ctx context.Context, id lockbox.TenantID) (*lockbox.Tenant, error) {
	return getID[lockbox.Tenant](ctx, c, nil, "/v1/tenants/%s", string(id))
}

// ListTenants returns a page of the tenants the caller may see: all of them
// for operators, its own for a customer.
func (c *Client) ListTenants(ctx context.Context, page lockbox.Page) (*lockbox.List[*lockbox.Tenant], error) {
	return getID[lockbox.List[*lockbox.Tenant]](ctx, c, pageQuery(nil, page), "/v1/tenants")
}

// GetLockbox returns a tenant's lockbox settings.
func (c *Client) GetLockbox(ctx context.Context, id lockbox.TenantID) (*lockbox.LockboxSettings, error) {
	return getID[lockbox.LockboxSettings](ctx, c, nil, "/v1/tenants/%s/lockbox", string(id))
}

// UpdateLockbox changes the settings the patch names and returns them all.
// Only the tenant's own admins may; no operator role can.
func (c *Client) UpdateLockbox(ctx context.Context, id lockbox.TenantID, in lockbox.LockboxPatch) (*lockbox.LockboxSettings, error) {
	return patchID[lockbox.LockboxSettings](ctx, c, in, "/v1/tenants/%s/lockbox", string(id))
}

// RotateWebhookSecret gives a tenant's webhook a new signing secret, shown
// in the answer only: POST /v1/tenants/{id}/lockbox/webhooks/rotate.
func (c *Client) RotateWebhookSecret(ctx context.Context, id lockbox.TenantID, webhookURL string) (*lockbox.Webhook, error) {
	return postID[lockbox.Webhook](ctx, c, lockbox.RotateWebhookSecretInput{URL: webhookURL}, "/v1/tenants/%s/lockbox/webhooks/rotate", string(id))
}
