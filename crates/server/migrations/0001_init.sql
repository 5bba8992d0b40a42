-- Latchkey schema, written once for SQLite and PostgreSQL: only TEXT and BIGINT
-- columns, ids made by the server, times in Unix milliseconds.

CREATE TABLE users (
    id                   TEXT PRIMARY KEY,
    email                TEXT UNIQUE,
    phone                TEXT UNIQUE,
    username             TEXT UNIQUE,
    name                 TEXT,
    organisation         TEXT,
    locale               TEXT,
    password_hash        TEXT NOT NULL,
    password_changed_at  BIGINT NOT NULL,
    must_change_password BIGINT NOT NULL DEFAULT 0,
    disabled             BIGINT NOT NULL DEFAULT 0,
    mfa_enabled          BIGINT NOT NULL DEFAULT 0,
    created_at           BIGINT NOT NULL
);

CREATE TABLE password_history (
    user_id       TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX password_history_user ON password_history (user_id, created_at);

-- One row per signed-in device: the token family that refresh rotation continues.
CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    user_id            TEXT NOT NULL,
    access_hash        TEXT NOT NULL UNIQUE,
    access_expires_at  BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    device_id          TEXT NOT NULL,
    device_name        TEXT NOT NULL,
    device_platform    TEXT NOT NULL,
    ip                 TEXT,
    created_at         BIGINT NOT NULL,
    last_used_at       BIGINT NOT NULL,
    revoked_at         BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Every refresh token ever issued, kept until it expires so that a second use of a
-- rotated token is recognised (and revokes its session).
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

-- Short-lived single-use tokens between two steps of a flow (forced password change,
-- and later second factor, device and recovery challenges).
CREATE TABLE challenges (
    token_hash TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    data       TEXT NOT NULL DEFAULT '',
    attempts   BIGINT NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

-- Failed sign-ins per account (or per identifier when no account has it).
CREATE TABLE lockouts (
    subject         TEXT PRIMARY KEY,
    failures        BIGINT NOT NULL,
    lock_level      BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL
);

-- Fixed-window counters, e.g. failed sign-ins per client address.
CREATE TABLE throttles (
    bucket       TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL
);

CREATE TABLE activity (
    id              TEXT PRIMARY KEY,
    user_id         TEXT,
    kind            TEXT NOT NULL,
    result          TEXT NOT NULL,
    device_id       TEXT NOT NULL,
    device_name     TEXT NOT NULL,
    device_platform TEXT NOT NULL,
    ip              TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX activity_user ON activity (user_id, created_at);

-- Server-wide switches set by the admin CLI: maintenance, minimum client version.
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
