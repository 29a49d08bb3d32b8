package client

import (
	"context"
	"net/url"

	"github.com/lockbox-dev/lockbox"
)

// RequestFilter selects the access requests ListRequests returns. Empty
// fields select all.
type RequestFilter struct {
	TenantID    lockbox.TenantID
	Status      lockbox.RequestStatus
	TicketID    lockbox.TicketID
	RequesterID lockbox.UserID
	Page        lockbox.Page
}

func (f RequestFilter) query() url.Values {
	q := pageQuery(nil, f.Page)
	setIf(q, "tenant_id", f.TenantID)
	setIf(q, "status", f.Status)
	setIf(q, "ticket_id", f.TicketID)
	setIf(q, "requester_id", f.RequesterID)
	return q
}

// CreateRequest files an access request. The JIT policy runs on the server;
// its decision is on the answer.
func (c *Client) CreateRequest(ctx context.Context, in lockbox.CreateRequestInput) (*lockbox.AccessRequest, error) {
	return postID[lockbox.AccessRequest](ctx, c, in, "/v1/requests")
}

// GetRequest returns an access request with its policy decision and reviews.
func (c *Client) GetRequest(ctx context.Context, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
	return getID[lockbox.AccessRequest](ctx, c, nil, "/v1/requests/%s", string(id))
}

// ListRequests returns a page of the access requests the filter selects,
// newest first.
func (c *Client) ListRequests(ctx context.Context, f RequestFilter) (*lockbox.List[*lockbox.AccessRequest], error) {
	return getID[lockbox.List[*lockbox.AccessRequest]](ctx, c, f.query(), "/v1/requests")
}

// Approve reviews the request favourably at its current stage (internal or
// customer). in.Duration may only shorten the access.
func (c *Client) Approve(ctx context.Context, id lockbox.RequestID, in lockbox.ApproveInput) (*lockbox.AccessRequest, error) {
	return postID[lockbox.AccessRequest](ctx, c, in, "/v1/requests/%s/approve", string(id))
}

// Deny reviews the request unfavourably, which ends it as denied.
func (c *Client) Deny(ctx context.Context, id lockbox.RequestID, in lockbox.ReasonInput) (*lockbox.AccessRequest, error) {
	return postID[lockbox.AccessRequest](ctx, c, in, "/v1/requests/%s/deny", string(id))
}

// Cancel withdraws a pending request. Requester only.
func (c *Client) Cancel(ctx context.Context, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
	return postID[lockbox.AccessRequest](ctx, c, nil, "/v1/requests/%s/cancel", string(id))
}

// Complete releases approved access before its window ends. Requester only.
func (c *Client) Complete(ctx context.Context, id lockbox.RequestID) (*lockbox.AccessRequest, error) {
	return postID[lockbox.AccessRequest](ctx, c, nil, "/v1/requests/%s/complete", string(id))
}

// Revoke ends approved access at once. The tenant's approvers and admins and
// operator admins may.
func (c *Client) Revoke(ctx context.Context, id lockbox.RequestID, in lockbox.ReasonInput) (*lockbox.AccessRequest, error) {
	return postID[lockbox.AccessRequest](ctx, c, in, "/v1/requests/%s/revoke", string(id))
}

// IssueToken obtains a short-lived grant token for an approved request; only
// its requester may, inside the access window.
func (c *Client) IssueToken(ctx context.Context, id lockbox.RequestID) (*lockbox.GrantToken, error) {
	return postID[lockbox.GrantToken](ctx, c, nil, "/v1/requests/%s/token", string(id))
}
