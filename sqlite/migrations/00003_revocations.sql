-- The revocation feed and the access records already logged.
--
-- revocations lists every request that ended (revoked, completed, expired,
-- denied, canceled), appended in the transaction that ends it, with the
-- next seq (the largest plus one): SQLite has one writer, so numbers follow
-- commit order without gaps and a gateway's cursor never skips an item that
-- commits late.
--
-- access_records holds the ids of the enforcement points' access records
-- already appended to a log, so a batch sent again is not logged twice.

-- +goose Up
CREATE TABLE revocations (
    seq        INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL UNIQUE,
    tenant_id  TEXT NOT NULL,
    status     TEXT NOT NULL,
    ended_at   TEXT NOT NULL
) STRICT;

-- Requests that ended before this migration are in the feed too, so a
-- gateway that starts after the upgrade knows them.
INSERT INTO revocations (seq, request_id, tenant_id, status, ended_at)
    SELECT row_number() OVER (ORDER BY ended_at, id), id, tenant_id, status, ended_at
    FROM requests WHERE ended_at IS NOT NULL
        AND status IN ('denied', 'expired', 'canceled', 'revoked', 'completed');

-- +goose StatementBegin
CREATE TRIGGER revocations_no_update BEFORE UPDATE ON revocations
BEGIN
    SELECT RAISE(ABORT, 'the revocation feed is append-only');
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER revocations_no_delete BEFORE DELETE ON revocations
BEGIN
    SELECT RAISE(ABORT, 'the revocation feed is append-only');
END;
-- +goose StatementEnd

CREATE TABLE access_records (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE access_records;
DROP TABLE revocations;
