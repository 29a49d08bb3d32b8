package client

import (
	"context"
	"net/http"
	"net/url"

	"github.com/lockbox-dev/lockbox"
)

// UserFilter selects the users ListUsers returns. Empty fields select all.
type UserFilter struct {
	TenantID lockbox.TenantID
	Kind     lockbox.UserKind
	Page     lockbox.Page
}

func (f UserFilter) query() url.Values {
	q := pageQuery(nil, f.Page)
	setIf(q, "tenant_id", f.TenantID)
	setIf(q, "kind", f.Kind)
	return q
}

// CreateUser creates an operator or customer user. Operator admins create
// operator users and a tenant's first tenant_admin; from then on only the
// tenant's admins manage its users.
func (c *Client) CreateUser(ctx context.Context, in lockbox.CreateUserInput) (*lockbox.User, error) {
	return postID[lockbox.User](ctx, c, in, "/v1/users")
}

// GetUser returns a user.
func (c *Client) GetUser(ctx context.Context, id lockbox.UserID) (*lockbox.User, error) {
	return getID[lockbox.User](ctx, c, nil, "/v1/users/%s", string(id))
}

// ListUsers returns a page of the active users the filter selects.
func (c *Client) ListUsers(ctx context.Context, f UserFilter) (*lockbox.List[*lockbox.User], error) {
	return getID[lockbox.List[*lockbox.User]](ctx, c, f.query(), "/v1/users")
}

// UpdateUser changes the fields the input sets and returns the user.
func (c *Client) UpdateUser(ctx context.Context, id lockbox.UserID, in lockbox.UpdateUserInput) (*lockbox.User, error) {
	return patchID[lockbox.User](ctx, c, in, "/v1/users/%s", string(id))
}

// DeleteUser removes a user and ends its sessions and API tokens.
func (c *Client) DeleteUser(ctx context.Context, id lockbox.UserID) error {
	p, err := pathf("/v1/users/%s", string(id))
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, http.MethodDelete, p, nil, nil, nil)
	return err
}

// CreateToken creates a long-lived API token for the user (for automation
// and gateways). The secret is in the answer only; it cannot be read again.
func (c *Client) CreateToken(ctx context.Context, id lockbox.UserID, in lockbox.CreateTokenInput) (*lockbox.TokenOutput, error) {
	return postID[lockbox.TokenOutput](ctx, c, in, "/v1/users/%s/tokens", string(id))
}

// Reinvite sends the user a new invitation: the earlier link, the password,
// second factor, sessions and API tokens end.
func (c *Client) Reinvite(ctx context.Context, id lockbox.UserID) (*lockbox.User, error) {
	return postID[lockbox.User](ctx, c, nil, "/v1/users/%s/invitation", string(id))
}

// RevokeInvitation withdraws the user's open invitation.
func (c *Client) RevokeInvitation(ctx context.Context, id lockbox.UserID) error {
	p, err := pathf("/v1/users/%s/invitation", string(id))
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, http.MethodDelete, p, nil, nil, nil)
	return err
}

// GetInvitation describes the invitation of a link's token (no sign-in).
func (c *Client) GetInvitation(ctx context.Context, token string) (*lockbox.InvitationInfo, error) {
	return getID[lockbox.InvitationInfo](ctx, c, nil, "/v1/invitations/%s", token)
}

// InvitationTOTP enrols a TOTP secret with the invitation (shown once).
func (c *Client) InvitationTOTP(ctx context.Context, token string) (*lockbox.TOTPEnrollment, error) {
	return postID[lockbox.TOTPEnrollment](ctx, c, nil, "/v1/invitations/%s/totp", token)
}

// AcceptInvitation sets the invitee's own password (and second factor).
func (c *Client) AcceptInvitation(ctx context.Context, token string, in lockbox.AcceptInvitationInput) (*lockbox.User, error) {
	return postID[lockbox.User](ctx, c, in, "/v1/invitations/%s/accept", token)
}
