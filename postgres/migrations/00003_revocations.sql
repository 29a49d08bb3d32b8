-- The revocation feed and the access records already logged, the
-- PostgreSQL twin of sqlite/migrations/00003_revocations.sql.
--
-- revocations lists every request that ended, appended in the transaction
-- that ends it. seq comes from revocation_seq, taken under a transaction
-- advisory lock held until commit: of two transactions ending requests, the
-- second waits for the first to commit before it takes its number. Numbers
-- thus increase in commit order, and a gateway's cursor never skips an item
-- that commits late, on any number of replicas. (A counter row incremented
-- in the transaction did the same, but under REPEATABLE READ the waiting
-- transactions failed and retried until they ran out of attempts when many
-- requests ended at once.) A rolled-back transaction skips its number.

-- +goose Up
CREATE SEQUENCE revocation_seq;

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
SELECT setval('revocation_seq', GREATEST(count(*), 1), count(*) > 0) FROM revocations;

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
DROP SEQUENCE revocation_seq;
