-- The sign-in and one-time-code throttle (lockbox.Throttle): one counter
-- per key and fixed window. key names what is counted (a failure budget of
-- an account from one client address, of one address, of an account's
-- one-time codes); win_start is the window's start in Unix seconds. Rows of
-- past windows are deleted as new ones are counted.

-- +goose Up
CREATE TABLE throttle (
    key    TEXT NOT NULL,
    win_start INTEGER NOT NULL,
    count  INTEGER NOT NULL,
    PRIMARY KEY (key, win_start)
) WITHOUT ROWID;
CREATE INDEX throttle_window ON throttle (win_start);

-- +goose Down
DROP TABLE throttle;
