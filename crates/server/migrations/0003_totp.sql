-- Two-factor authentication: one TOTP secret per account and its recovery codes.

-- The secret is encrypted (XChaCha20-Poly1305 under LATCHKEY_SECRET_KEY, the user id
-- as associated data), so a dump of this table alone does not reveal it. A row with
-- no confirmed_at is an enrolment waiting for its first code; users.mfa_enabled turns
-- on when it is confirmed. last_step is the newest 30-second step whose code was
-- accepted: codes of that step or older are refused (replay).
CREATE TABLE totp_secrets (
    user_id      TEXT PRIMARY KEY,
    secret       TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    confirmed_at BIGINT,
    last_step    BIGINT NOT NULL DEFAULT -1
);

-- Single-use recovery codes, stored as SHA-256 of the user id and the code.
CREATE TABLE recovery_codes (
    user_id    TEXT NOT NULL,
    code_hash  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (user_id, code_hash)
);
