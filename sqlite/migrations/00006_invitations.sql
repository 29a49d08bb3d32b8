-- Invitations (invariant 11): a user is created without a password and
-- sets their own through a single-use link e-mailed to them. Only the
-- SHA-256 of the link's token is stored. totp_pending is the second factor
-- enrolled with the invitation (sealed with the server's key), which
-- becomes the user's when the invitation is accepted.

-- +goose Up
CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    tenant_id    TEXT NOT NULL,
    hash         TEXT NOT NULL UNIQUE,
    invited_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    expires_at   TEXT NOT NULL,
    accepted_at  TEXT,
    revoked_at   TEXT,
    totp_pending TEXT NOT NULL DEFAULT ''
);

CREATE INDEX invitations_user ON invitations (user_id);

-- +goose Down
DROP TABLE invitations;
