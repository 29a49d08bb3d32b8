package client

import (
	"context"

	"github.com/lockbox-dev/lockbox"
)

// PolicyInfo describes the server's running JIT policy (operators).
func (c *Client) PolicyInfo(ctx context.Context) (*lockbox.PolicyInfo, error) {
	return getID[lockbox.PolicyInfo](ctx, c, nil, "/v1/admin/policy")
}

// ReloadPolicy makes the server read its JIT policy file again (operator
// admins). An invalid file is an *APIError with code invalid whose Details
// list every problem as FILE:LINE:COL: message; the running policy stays.
func (c *Client) ReloadPolicy(ctx context.Context) (*lockbox.PolicyInfo, error) {
	return postID[lockbox.PolicyInfo](ctx, c, nil, "/v1/admin/policy/reload")
}
