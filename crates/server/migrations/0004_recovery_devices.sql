-- Forgot password and new-device verification.

-- One row per `POST /v1/recovery/start`, also for identifiers that match no account
-- (user_id NULL): resend and hourly limits then apply to every identifier alike, and
-- verify answers an unknown identifier's attempt exactly like a wrong code. subject is
-- the lockout subject (`user:{id}`, or the normalised identifier). code_hash is
-- SHA-256 of the row id and the 6-digit code; the code itself is never stored.
CREATE TABLE recoveries (
    id         TEXT PRIMARY KEY,
    subject    TEXT NOT NULL,
    user_id    TEXT,
    code_hash  TEXT NOT NULL,
    attempts   BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX recoveries_subject ON recoveries (subject, created_at);

-- Devices an account has completed a sign-in from. A password from any other device
-- id asks for a code (on accounts without TOTP), and every first sign-in from a device
-- sends a notice.
CREATE TABLE known_devices (
    user_id    TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    name       TEXT NOT NULL,
    platform   TEXT NOT NULL,
    first_seen BIGINT NOT NULL,
    last_seen  BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

-- Devices that already signed in before this migration are known: an upgrade must
-- not ask every existing user for a code.
INSERT INTO known_devices (user_id, device_id, name, platform, first_seen, last_seen)
SELECT user_id, device_id, MAX(device_name), MAX(device_platform), MIN(created_at),
       MAX(last_used_at)
FROM sessions
WHERE device_id <> ''
GROUP BY user_id, device_id;
