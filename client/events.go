package client

import (
	"context"
	"strconv"

	"github.com/lockbox-dev/lockbox"
)

// EventFilter selects the events ListEvents returns.
type EventFilter struct {
	// After, when set, selects events whose index is greater than *After.
	// Nil starts at the first event.
	After *int64
	Type  lockbox.EventType
	// Page pages through the answer; the server's page token is the index
	// cursor.
	Page lockbox.Page
}

// ListEvents returns a page of a tenant's log, oldest first.
func (c *Client) ListEvents(ctx context.Context, tenant lockbox.TenantID, f EventFilter) (*lockbox.List[*lockbox.Event], error) {
	q := pageQuery(nil, f.Page)
	if f.After != nil {
		q.Set("after", strconv.FormatInt(*f.After, 10))
	}
	setIf(q, "type", f.Type)
	return getID[lockbox.List[*lockbox.Event]](ctx, c, q, "/v1/tenants/%s/events", string(tenant))
}
