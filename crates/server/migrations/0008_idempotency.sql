-- Answers kept for a retry with the same Idempotency-Key (issue 21): a request sent
-- again after its answer was lost gets that answer instead of running twice.
--
-- Nothing here is usable without the client's key: `lookup` is the SHA-256 of the
-- route and the key, `fingerprint` an HMAC of the request (route, account, body) under
-- a key derived from the Idempotency-Key, and `answer` the answer sealed with another
-- key derived from it (ChaCha20-Poly1305). `running` rows are leased to the request
-- that runs the action; the janitor deletes rows after `expires_at`.
CREATE TABLE idempotency_keys (
    lookup      TEXT PRIMARY KEY,
    fingerprint TEXT NOT NULL,
    state       TEXT NOT NULL,
    attempt     TEXT NOT NULL,
    answer      TEXT,
    lease_until BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
