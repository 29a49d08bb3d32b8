-- The sign-in and one-time-code throttle (lockbox.Throttle): one counter
-- per key and fixed window, shared by every replica. key names what is
-- counted (a failure budget of an account from one client address, of one
-- address, of an account's one-time codes); win_start is the window's start in
-- Unix seconds. Rows of past windows are deleted as new ones are counted.

-- +goose Up
CREATE TABLE throttle (
    key    text NOT NULL,
    win_start bigint NOT NULL,
    count  integer NOT NULL,
    PRIMARY KEY (key, win_start)
);
CREATE INDEX throttle_window ON throttle (win_start);

-- +goose Down
DROP TABLE throttle;
