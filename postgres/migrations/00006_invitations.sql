-- Invitations, the PostgreSQL twin of sqlite/migrations/00006_invitations.sql:
-- a user is created without a password and sets their own through a
-- single-use link e-mailed to them. Only the SHA-256 of the link's token is
-- stored; totp_pending (sealed) is the second factor enrolled with it.

-- +goose Up
CREATE TABLE invitations (
    id           text PRIMARY KEY,
    user_id      text NOT NULL REFERENCES users (id),
    tenant_id    text NOT NULL,
    hash         text NOT NULL CONSTRAINT invitations_hash UNIQUE,
    invited_by   text NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    accepted_at  timestamptz,
    revoked_at   timestamptz,
    totp_pending text NOT NULL DEFAULT ''
);

CREATE INDEX invitations_user ON invitations (user_id);

-- +goose Down
DROP TABLE invitations;
