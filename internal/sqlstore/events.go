package sqlstore

import (
	"context"
	"fmt"

	"github.com/lockbox-dev/lockbox"
)

// ListEvents implements lockbox.Reader's method: the tenant's events with
// an index above f.After, oldest first, at most f.Limit of them (all when
// 0).
func (t Tx) ListEvents(ctx context.Context, f lockbox.EventFilter) ([]*lockbox.Event, error) {
	d, q := t.D, t.Q
	var w Filter
	w.Eq("tenant_id", f.TenantID)
	w.Add("idx > ?", f.After)
	if f.Type != "" {
		w.Eq("type", f.Type)
	}
	if f.RequestID != "" {
		w.Eq("request_id", f.RequestID)
	}
	if f.TicketID != "" {
		// The ticket's own events, and those of its requests.
		w.Add("((request_id IS NULL AND ticket_id = ?) OR request_id IN (SELECT id FROM requests WHERE ticket_id = ?))",
			f.TicketID, f.TicketID)
	}
	out, err := Each(ctx, d, q, `SELECT idx, leaf FROM events`+w.Where()+` ORDER BY idx LIMIT ?`,
		append(w.Args(), d.Limit(f.Limit)), func(r Row) (*lockbox.Event, error) {
			var (
				idx  int64
				leaf []byte
			)
			if err := r.Scan(&idx, &leaf); err != nil {
				return nil, err
			}
			return lockbox.EventFromLeaf(f.TenantID, idx, leaf), nil
		})
	if err != nil {
		return nil, fmt.Errorf("%s: list events of %s: %w", d.Name, f.TenantID, err)
	}
	return out, nil
}
