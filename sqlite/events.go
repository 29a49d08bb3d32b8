package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
	"github.com/lockbox-dev/lockbox/tlog"
)

// AppendEvent implements lockbox.Tx. It gives e the next index of its
// tenant's log, normalises e.Time to UTC microseconds (what the store keeps,
// so that an event read back has the same canonical JSON), and stores the
// leaf bytes with the event. The writer is serialised, so reading the last
// index and inserting the next one cannot race.
func (t *tx) AppendEvent(ctx context.Context, e *lockbox.Event) error {
	if e.TenantID == "" {
		return fmt.Errorf("sqlite: append event %s: no tenant (use lockbox.SystemLog for the system log)", e.ID)
	}
	idx, err := t.nextIndex(ctx, e.TenantID)
	if err != nil {
		return err
	}
	if err := e.Seal(idx); err != nil {
		return fmt.Errorf("sqlite: append: %w", err)
	}
	if err := t.insertEvent(ctx, e); err != nil {
		return err
	}
	if t.next == nil {
		t.next = map[lockbox.TenantID]int64{}
	}
	t.next[e.TenantID] = idx + 1
	return nil
}

// nextIndex returns the index the next event of the tenant's log takes:
// read once per transaction and log, then counted, since this transaction
// is the only writer.
func (t *tx) nextIndex(ctx context.Context, tenant lockbox.TenantID) (int64, error) {
	if n, ok := t.next[tenant]; ok {
		return n, nil
	}
	var last int64
	err := t.queryRow(ctx, `SELECT idx FROM events WHERE tenant_id = ? ORDER BY idx DESC LIMIT 1`, tenant).Scan(&last)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("sqlite: append event to the log of %s: %w", tenant, err)
	}
	return last + 1, nil
}

// insertEvent stores a sealed event, e.Leaf at e.Index with its leaf hash
// (the log's level-0 node), and queues its notice for when the transaction
// commits.
func (t *tx) insertEvent(ctx context.Context, e *lockbox.Event) error {
	_, err := t.exec(ctx, `INSERT INTO events (tenant_id, idx, type, request_id, ticket_id, leaf, leaf_hash)
		VALUES (?, ?, ?, ?, ?, ?, ?)`,
		e.TenantID, e.Index, e.Type, sqlstore.NullStr(e.RequestID), sqlstore.NullStr(e.TicketID), e.Leaf, tlog.LeafHash(e.Leaf))
	if err != nil {
		if msg, ok := isUnique(err); ok && strings.Contains(msg, "events.id") {
			return lockbox.Errorf(lockbox.CodeConflict, "event %s already exists", e.ID)
		}
		return fmt.Errorf("sqlite: append event %s to the log of %s: %w", e.ID, e.TenantID, err)
	}
	t.notices = append(t.notices, lockbox.EventNotice{TenantID: e.TenantID, Index: e.Index, Type: e.Type, RequestID: e.RequestID})
	return nil
}
