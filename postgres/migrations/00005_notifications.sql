-- The notification outbox, the PostgreSQL twin of
-- sqlite/migrations/00005_notifications.sql (see docs/notifications.md).
--
-- Workers of any number of replicas claim due rows with
-- SELECT … FOR UPDATE SKIP LOCKED and set locked_until and claim (a lease),
-- so two workers never hold the same row; a worker that dies leaves the row
-- to another once the lease passes.

-- +goose Up
CREATE TABLE notifications (
    id              text PRIMARY KEY,
    key             text NOT NULL UNIQUE,
    tenant_id       text NOT NULL,
    request_id      text,
    event_id        text,
    kind            text NOT NULL,
    channel         text NOT NULL CHECK (channel IN ('email', 'webhook')),
    target          text NOT NULL DEFAULT '',
    recipient       text NOT NULL,
    payload         text NOT NULL, -- JSON, kept byte for byte (the event as logged)
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz,
    delivered_at    timestamptz,
    locked_until    timestamptz,
    claim           text NOT NULL DEFAULT '',
    history         jsonb NOT NULL DEFAULT '[]'
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_request ON notifications (request_id, created_at);

-- +goose Down
DROP TABLE notifications;
