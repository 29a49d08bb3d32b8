-- The notification outbox (see docs/notifications.md).
--
-- A row is one delivery to one recipient over one channel (an e-mail
-- address or a webhook URL), written in the transaction of the change that
-- causes it, so no committed change lacks its notifications. key makes
-- enqueueing idempotent. The delivery worker claims due rows by setting
-- locked_until and claim (a lease: no other worker takes the row before it
-- passes), sends, and stores the outcome with the attempt appended to
-- history (a JSON array of {at, error}). Rows are kept after delivery: they
-- are the request's delivery history.

-- +goose Up
CREATE TABLE notifications (
    id              TEXT PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,
    tenant_id       TEXT NOT NULL,
    request_id      TEXT,
    event_id        TEXT,
    kind            TEXT NOT NULL,
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
    target          TEXT NOT NULL DEFAULT '',
    recipient       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    next_attempt_at TEXT,
    delivered_at    TEXT,
    locked_until    TEXT,
    claim           TEXT NOT NULL DEFAULT '',
    history         TEXT NOT NULL DEFAULT '[]'
) STRICT;

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_request ON notifications (request_id, created_at);

-- +goose Down
DROP TABLE notifications;
