-- The revocation feed and the access records already logged, the
-- PostgreSQL twin of sqlite/migrations/00003_revocations.sql.
--
-- revocations lists every request that ended, appended in the transaction
-- that ends it. seq comes from the single revocation_head row, incremented
-- in that transaction: the row stays locked until commit, so of two
-- transactions ending requests the second waits, then (REPEATABLE READ)
-- fails and runs again with the next number. Numbers thus follow commit
-- order without gaps, and a gateway's cursor never skips an item that
-- commits late, on any number of replicas.

-- +goose Up
CREATE TABLE revocation_head (
    id  integer PRIMARY KEY CHECK (id = 1),
    seq bigint NOT NULL CHECK (seq >= 0)
);

CREATE TABLE revocations (
    seq        bigint PRIMARY KEY,
    request_id text NOT NULL UNIQUE,
    tenant_id  text NOT NULL,
    status     text NOT NULL,
    ended_at   timestamptz NOT NULL
);

-- Requests that ended before this migration are in the feed too.
INSERT INTO revocations (seq, request_id, tenant_id, status, ended_at)
    SELECT row_number() OVER (ORDER BY ended_at, id), id, tenant_id, status, ended_at
    FROM requests WHERE ended_at IS NOT NULL
        AND status IN ('denied', 'expired', 'canceled', 'revoked', 'completed');
INSERT INTO revocation_head (id, seq) SELECT 1, count(*) FROM revocations;

CREATE TRIGGER revocations_append_only BEFORE UPDATE OR DELETE ON revocations
    FOR EACH ROW EXECUTE FUNCTION lockbox_append_only();
CREATE TRIGGER revocations_no_truncate BEFORE TRUNCATE ON revocations
    FOR EACH STATEMENT EXECUTE FUNCTION lockbox_append_only();

CREATE TABLE access_records (
    id        text PRIMARY KEY,
    tenant_id text NOT NULL
);

-- +goose Down
DROP TABLE access_records;
DROP TABLE revocations;
DROP TABLE revocation_head;
