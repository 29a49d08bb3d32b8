-- The initial lockbox schema.
--
-- Conventions:
--   * Times are TEXT in the fixed-width UTC format 2006-01-02T15:04:05.000000Z,
--     so that string order is time order and indexes on times work.
--   * Durations are INTEGER nanoseconds.
--   * Lists and nested values (roles, groups, resources, settings, the policy
--     decision) are JSON text.
--   * An empty foreign reference (an operator's tenant, an unassigned ticket)
--     is NULL, so foreign keys stay checked.
--   * Reviews and events are append-only: triggers refuse UPDATE and DELETE.

-- +goose Up
CREATE TABLE tenants (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    settings         TEXT NOT NULL, -- JSON lockbox.LockboxSettings
    created_at       TEXT NOT NULL,
    admin_invited_at TEXT
) STRICT;

CREATE INDEX tenants_created ON tenants (created_at, id);

CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    kind           TEXT NOT NULL CHECK (kind IN ('operator', 'customer')),
    email          TEXT NOT NULL COLLATE NOCASE,
    display_name   TEXT NOT NULL,
    tenant_id      TEXT REFERENCES tenants (id),
    roles          TEXT NOT NULL, -- JSON array of roles
    user_groups    TEXT NOT NULL, -- JSON array of operator groups
    isolated       INTEGER NOT NULL,
    totp_enabled   INTEGER NOT NULL,
    password_hash  TEXT NOT NULL,
    totp_secret    TEXT NOT NULL,
    totp_pending   TEXT NOT NULL,
    totp_last_step INTEGER NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL,
    deleted_at     TEXT
) STRICT;

-- One active user per e-mail, whatever its case. A removed user's address
-- may be given to a new user.
CREATE UNIQUE INDEX users_email ON users (email COLLATE NOCASE) WHERE deleted_at IS NULL;
CREATE INDEX users_created ON users (created_at, id);
CREATE INDEX users_tenant ON users (tenant_id, created_at, id);

CREATE TABLE credentials (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id),
    kind       TEXT NOT NULL CHECK (kind IN ('session', 'api_token')),
    name       TEXT NOT NULL,
    hash       TEXT NOT NULL UNIQUE, -- SHA-256 of the secret
    amr        TEXT NOT NULL,        -- JSON array
    created_at TEXT NOT NULL,
    expires_at TEXT
) STRICT;

CREATE INDEX credentials_user ON credentials (user_id);

CREATE TABLE tickets (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    title       TEXT NOT NULL,
    description TEXT NOT NULL,
    severity    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    created_by  TEXT NOT NULL REFERENCES users (id),
    assignee_id TEXT REFERENCES users (id),
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    resolved_at TEXT
) STRICT;

CREATE INDEX tickets_created ON tickets (created_at, id);
CREATE INDEX tickets_tenant ON tickets (tenant_id, created_at, id);

CREATE TABLE comments (
    id         TEXT PRIMARY KEY,
    ticket_id  TEXT NOT NULL REFERENCES tickets (id),
    author_id  TEXT NOT NULL REFERENCES users (id),
    body       TEXT NOT NULL,
    created_at TEXT NOT NULL
) STRICT;

CREATE INDEX comments_ticket ON comments (ticket_id, created_at);

CREATE TABLE requests (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    ticket_id          TEXT NOT NULL REFERENCES tickets (id),
    requester_id       TEXT NOT NULL REFERENCES users (id),
    resources          TEXT NOT NULL, -- JSON array
    access_level       TEXT NOT NULL,
    reason_type        TEXT NOT NULL,
    justification      TEXT NOT NULL,
    requested_duration INTEGER NOT NULL,
    status             TEXT NOT NULL,
    policy             TEXT NOT NULL, -- JSON lockbox.Decision
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    decision_deadline  TEXT NOT NULL,
    granted_duration   INTEGER NOT NULL,
    access_starts_at   TEXT,
    access_expires_at  TEXT,
    ended_at           TEXT,
    end_reason         TEXT NOT NULL,
    ended_by           TEXT REFERENCES users (id),
    end_comment        TEXT NOT NULL,
    version            INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX requests_created ON requests (created_at, id);
CREATE INDEX requests_tenant ON requests (tenant_id, created_at, id);
CREATE INDEX requests_ticket ON requests (ticket_id, created_at, id);
CREATE INDEX requests_requester ON requests (requester_id, created_at, id);
-- ListDueRequests: pending requests by decision deadline, approved ones by
-- the end of their window. They also serve the status filter of the pending
-- and approved queues; a status index over all requests would be rewritten
-- at every transition.
CREATE INDEX requests_due_decision ON requests (status, decision_deadline)
    WHERE status IN ('pending_internal', 'pending_customer');
CREATE INDEX requests_due_access ON requests (status, access_expires_at)
    WHERE status = 'approved';

CREATE TABLE reviews (
    request_id  TEXT NOT NULL REFERENCES requests (id),
    seq         INTEGER NOT NULL, -- position in the request's reviews, from 0
    reviewer_id TEXT NOT NULL REFERENCES users (id),
    stage       TEXT NOT NULL,
    decision    TEXT NOT NULL,
    reason      TEXT NOT NULL,
    duration    INTEGER NOT NULL,
    mfa         INTEGER NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (request_id, seq),
    UNIQUE (request_id, reviewer_id) -- one review per person per request
) STRICT, WITHOUT ROWID;

-- +goose StatementBegin
CREATE TRIGGER reviews_no_update BEFORE UPDATE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER reviews_no_delete BEFORE DELETE ON reviews
BEGIN
    SELECT RAISE(ABORT, 'reviews are append-only');
END;
-- +goose StatementEnd

-- Events of every tenant's log, and of the "system" log, which is no tenant
-- row: hence no foreign key on tenant_id. leaf holds the canonical JSON the
-- Merkle tree hashes, byte for byte; the other columns are copies of its
-- fields that the filters need, so an event is read back from its leaf.
CREATE TABLE events (
    tenant_id  TEXT NOT NULL,
    idx        INTEGER NOT NULL,
    type       TEXT NOT NULL,
    request_id TEXT,
    ticket_id  TEXT,
    leaf       BLOB NOT NULL, -- the event, stored once: its canonical JSON
    PRIMARY KEY (tenant_id, idx)
) STRICT, WITHOUT ROWID;

CREATE INDEX events_type ON events (tenant_id, type, idx);
CREATE INDEX events_request ON events (tenant_id, request_id, idx) WHERE request_id IS NOT NULL;
-- A ticket's history is its own events (this index) and the events of its
-- requests (events_request, through requests.ticket_id): request events stay
-- out of this index, one B-tree fewer to write at every step of a request.
CREATE INDEX events_ticket ON events (tenant_id, ticket_id, idx) WHERE ticket_id IS NOT NULL AND request_id IS NULL;

-- +goose StatementBegin
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
-- +goose StatementEnd

-- +goose Down
DROP TABLE events;
DROP TABLE reviews;
DROP TABLE requests;
DROP TABLE comments;
DROP TABLE tickets;
DROP TABLE credentials;
DROP TABLE users;
DROP TABLE tenants;
