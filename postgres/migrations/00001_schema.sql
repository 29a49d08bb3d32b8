-- The initial lockbox schema, the PostgreSQL twin of sqlite/migrations.
--
-- Conventions:
--   * Times are timestamptz, which keeps microseconds, as lockbox.SystemClock
--     does.
--   * Durations are bigint nanoseconds.
--   * Lists and nested values (roles, groups, resources, settings, the policy
--     decision) are jsonb: they are read whole, and jsonb lets SQL look inside
--     (CountTenantAdmins). Event data and leaves are bytea instead: they are
--     hashed into the tenant's Merkle tree and must come back byte for byte,
--     while jsonb reorders keys and drops whitespace.
--   * An empty foreign reference (an operator's tenant, an unassigned ticket)
--     is NULL, so foreign keys stay checked.
--   * Reviews and events are append-only: triggers refuse UPDATE, DELETE and
--     TRUNCATE.
--   * Nothing names a schema: the tables go into the first schema of the
--     connection's search_path, as goose's version table does, so one
--     database can hold several lockbox installations (and the tests).

-- +goose Up
CREATE TABLE tenants (
    id               text PRIMARY KEY,
    name             text NOT NULL,
    settings         jsonb NOT NULL, -- lockbox.LockboxSettings
    created_at       timestamptz NOT NULL,
    admin_invited_at timestamptz
);

CREATE INDEX tenants_created ON tenants (created_at, id);

CREATE TABLE users (
    id             text PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('operator', 'customer')),
    email          text NOT NULL, -- as given; the service lower-cases it
    display_name   text NOT NULL,
    tenant_id      text REFERENCES tenants (id),
    roles          jsonb NOT NULL, -- array of roles
    user_groups    jsonb NOT NULL, -- array of operator groups
    isolated       boolean NOT NULL,
    totp_enabled   boolean NOT NULL,
    password_hash  text NOT NULL,
    totp_secret    text NOT NULL,
    totp_pending   text NOT NULL,
    totp_last_step bigint NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    deleted_at     timestamptz
);

-- One active user per e-mail, whatever its case. A removed user's address
-- may be given to a new user. GetUserByEmail looks up lower(email) too.
CREATE UNIQUE INDEX users_email ON users (lower(email)) WHERE deleted_at IS NULL;
CREATE INDEX users_created ON users (created_at, id);
CREATE INDEX users_tenant ON users (tenant_id, created_at, id);

CREATE TABLE credentials (
    id         text PRIMARY KEY,
    user_id    text NOT NULL REFERENCES users (id),
    kind       text NOT NULL CHECK (kind IN ('session', 'api_token')),
    name       text NOT NULL,
    hash       text NOT NULL CONSTRAINT credentials_hash UNIQUE, -- SHA-256 of the secret
    amr        jsonb NOT NULL, -- array
    created_at timestamptz NOT NULL,
    expires_at timestamptz
);

CREATE INDEX credentials_user ON credentials (user_id);

CREATE TABLE tickets (
    id          text PRIMARY KEY,
    tenant_id   text NOT NULL REFERENCES tenants (id),
    title       text NOT NULL,
    description text NOT NULL,
    severity    integer NOT NULL,
    status      text NOT NULL,
    created_by  text NOT NULL REFERENCES users (id),
    assignee_id text REFERENCES users (id),
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    resolved_at timestamptz
);

CREATE INDEX tickets_created ON tickets (created_at, id);
CREATE INDEX tickets_tenant ON tickets (tenant_id, created_at, id);

CREATE TABLE comments (
    id         text PRIMARY KEY,
    ticket_id  text NOT NULL REFERENCES tickets (id),
    author_id  text NOT NULL REFERENCES users (id),
    body       text NOT NULL,
    created_at timestamptz NOT NULL,
    -- The order comments were added in, for comments with the same time
    -- (SQLite's rowid).
    seq        bigint GENERATED ALWAYS AS IDENTITY
);

CREATE INDEX comments_ticket ON comments (ticket_id, created_at, seq);

CREATE TABLE requests (
    id                 text PRIMARY KEY,
    tenant_id          text NOT NULL REFERENCES tenants (id),
    ticket_id          text NOT NULL REFERENCES tickets (id),
    requester_id       text NOT NULL REFERENCES users (id),
    resources          jsonb NOT NULL, -- array
    access_level       text NOT NULL,
    reason_type        text NOT NULL,
    justification      text NOT NULL,
    requested_duration bigint NOT NULL,
    status             text NOT NULL,
    policy             jsonb NOT NULL, -- lockbox.Decision
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    decision_deadline  timestamptz NOT NULL,
    granted_duration   bigint NOT NULL,
    access_starts_at   timestamptz,
    access_expires_at  timestamptz,
    ended_at           timestamptz,
    end_reason         text NOT NULL,
    ended_by           text REFERENCES users (id),
    end_comment        text NOT NULL,
    version            bigint NOT NULL
);

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
    request_id  text NOT NULL REFERENCES requests (id),
    seq         integer NOT NULL, -- position in the request's reviews, from 0
    reviewer_id text NOT NULL REFERENCES users (id),
    stage       text NOT NULL,
    decision    text NOT NULL,
    reason      text NOT NULL,
    duration    bigint NOT NULL,
    mfa         boolean NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (request_id, seq),
    -- One review per person per request.
    CONSTRAINT reviews_one_per_reviewer UNIQUE (request_id, reviewer_id)
);

-- Events of every tenant's log, and of the "system" log, which is no tenant
-- row: hence no foreign key on tenant_id. leaf holds the canonical JSON the
-- Merkle tree hashes, byte for byte.
CREATE TABLE events (
    tenant_id  text NOT NULL,
    idx        bigint NOT NULL,
    type       text NOT NULL,
    request_id text,
    ticket_id  text,
    leaf       bytea NOT NULL, -- the event, stored once: its canonical JSON
    PRIMARY KEY (tenant_id, idx)
);

CREATE INDEX events_type ON events (tenant_id, type, idx);
CREATE INDEX events_request ON events (tenant_id, request_id, idx) WHERE request_id IS NOT NULL;
-- A ticket's history is its own events (this index) and the events of its
-- requests (events_request, through requests.ticket_id): request events stay
-- out of this index, one B-tree fewer to write at every step of a request.
CREATE INDEX events_ticket ON events (tenant_id, ticket_id, idx) WHERE ticket_id IS NOT NULL AND request_id IS NULL;

-- The next index of every log. AppendEvent increments its log's row with
-- INSERT … ON CONFLICT DO UPDATE, so concurrent appenders to one log, in any
-- process, queue on that row and indexes have no gaps: a rolled-back append
-- rolls its increment back too (a sequence would not).
CREATE TABLE log_heads (
    tenant_id text PRIMARY KEY,
    next_idx  bigint NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION lockbox_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% are append-only', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER reviews_append_only BEFORE UPDATE OR DELETE ON reviews
    FOR EACH ROW EXECUTE FUNCTION lockbox_append_only();
CREATE TRIGGER reviews_no_truncate BEFORE TRUNCATE ON reviews
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_append_only();
CREATE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION lockbox_append_only();
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_append_only();

-- +goose Down
DROP TABLE log_heads;
DROP TABLE events;
DROP TABLE reviews;
DROP TABLE requests;
DROP TABLE comments;
DROP TABLE tickets;
DROP TABLE credentials;
DROP TABLE users;
DROP TABLE tenants;
DROP FUNCTION lockbox_append_only();
