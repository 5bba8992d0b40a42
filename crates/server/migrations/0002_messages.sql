-- The outbound message queue (e-mail and SMS). A request that causes a message only
-- inserts a row; a dispatcher in each server process claims due rows with a lease
-- (claimed_until, claim_token), sends them and marks them. Several processes sharing
-- one PostgreSQL therefore never send a row twice while its lease runs.
--
-- payload holds the template variables as JSON, which may include a one-time code: it
-- is blanked ('') as soon as the message is sent or given up. last_error never holds
-- the payload.
CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,             -- email | sms
    recipient       TEXT NOT NULL,
    locale          TEXT NOT NULL,             -- zh-CN | en
    kind            TEXT NOT NULL,             -- recovery_code, device_code, ...
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL,             -- pending | sent | failed
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    claim_token     TEXT,
    give_up_at      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT,
    last_error      TEXT
);
CREATE INDEX messages_due ON messages (status, next_attempt_at);
