package client

import (
	"context"

	"github.com/lockbox-dev/lockbox"
)

// RequestNotifications returns the delivery history of a request's
// notifications (e-mails and webhooks), oldest first.
func (c *Client) RequestNotifications(ctx context.Context, id lockbox.RequestID) ([]*lockbox.Notification, error) {
	l, err := getID[lockbox.List[*lockbox.Notification]](ctx, c, nil, "/v1/requests/%s/notifications", string(id))
	if err != nil {
		return nil, err
	}
	return l.Items, nil
}
