package postgres

import (
	"context"
	"fmt"

	"github.com/lockbox-dev/lockbox"
	"github.com/lockbox-dev/lockbox/internal/sqlstore"
	"github.com/lockbox-dev/lockbox/tlog"
)

// AppendEvent implements lockbox.Tx. It takes the next index of e's log
// from the log's head row, normalises e.Time to UTC microseconds (what the
// store keeps, so that an event read back has the same canonical JSON), and
// stores the leaf bytes with the event. It also queues the event's notice:
// PostgreSQL delivers it to every listener when, and only if, the
// transaction commits.
//
// Incrementing the head row locks it until commit, so appenders to one log
// queue there; under REPEATABLE READ the ones that queued fail with a
// serialisation error when the holder commits, and Update re-runs them on
// fresh data: this is what makes the changes of one tenant serial.
func (t *tx) AppendEvent(ctx context.Context, e *lockbox.Event) error {
	if e.TenantID == "" {
		return fmt.Errorf("postgres: append event %s: no tenant (use lockbox.SystemLog for the system log)", e.ID)
	}
	idx, err := t.nextIndex(ctx, e.TenantID)
	if err != nil {
		return err
	}
	if err := e.Seal(idx); err != nil {
		return fmt.Errorf("postgres: append: %w", err)
	}
	return t.insertEvent(ctx, e)
}

// nextIndex takes the next index of the tenant's log from its head row,
// which stays locked until the transaction ends.
func (t *tx) nextIndex(ctx context.Context, tenant lockbox.TenantID) (int64, error) {
	var idx int64
	err := t.row(ctx, `INSERT INTO log_heads (tenant_id, next_idx) VALUES ($1, 1)
		ON CONFLICT (tenant_id) DO UPDATE SET next_idx = log_heads.next_idx + 1
		RETURNING next_idx - 1`, tenant).Scan(&idx)
	if err != nil {
		return 0, writeErr(err, "append an event to the log of", "tenant", string(tenant))
	}
	return idx, nil
}

// insertEvent stores a sealed event, e.Leaf at e.Index with its leaf hash
// (the log's level-0 node), and its notice.
func (t *tx) insertEvent(ctx context.Context, e *lockbox.Event) error {
	payload := encodeNotice(t.schema, lockbox.EventNotice{TenantID: e.TenantID, Index: e.Index, Type: e.Type, RequestID: e.RequestID})
	// One round trip: the insert and its notice.
	_, err := t.exec(ctx, `WITH appended AS (
			INSERT INTO events (tenant_id, idx, type, request_id, ticket_id, leaf, leaf_hash)
			VALUES ($1, $2, $3, $4, $5, $6, $9) RETURNING 1
		) SELECT pg_notify($7, $8) FROM appended`,
		e.TenantID, e.Index, e.Type, sqlstore.NullStr(e.RequestID), sqlstore.NullStr(e.TicketID), e.Leaf, noticeChannel, payload, tlog.LeafHash(e.Leaf))
	if err != nil {
		return writeErr(err, "append to the log of "+string(e.TenantID), "event", e.ID)
	}
	return nil
}
