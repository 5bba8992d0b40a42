-- Limits that hold under concurrency, retention, device ids as secrets, absolute
-- session lifetime.

-- Send caps (reset codes, device codes): one row per subject, locked by each send in
-- its transaction so that parallel requests are counted one after the other, and a
-- log of the sends of the last hour. The log is pruned after an hour by the janitor,
-- never together with the challenges a send made (their early deletion used to lift
-- the hourly cap).
CREATE TABLE send_limits (
    subject      TEXT PRIMARY KEY,
    last_sent_at BIGINT NOT NULL
);
CREATE TABLE sends (
    subject TEXT NOT NULL,
    sent_at BIGINT NOT NULL
);
CREATE INDEX sends_subject ON sends (subject, sent_at);

-- A session ends this long after its sign-in, however often it is refreshed (0 = no
-- limit; sessions older than this migration get the default 90 days).
ALTER TABLE sessions ADD COLUMN absolute_expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE sessions SET absolute_expires_at = created_at + 7776000000;

-- Device ids are secrets of the device (they skip new-device verification): the
-- server keeps only their SHA-256 from now on. Ids already stored in sessions and
-- activity are blanked; known_devices rows are re-keyed on their next use.
UPDATE sessions SET device_id = '';
UPDATE activity SET device_id = '';

-- Retention pruning and the janitor's look-ups.
CREATE INDEX activity_created ON activity (created_at);
CREATE INDEX recoveries_created ON recoveries (created_at);
CREATE INDEX lockouts_last_failure ON lockouts (last_failure_at);
CREATE INDEX challenges_user_kind ON challenges (user_id, kind);
CREATE INDEX recoveries_user ON recoveries (user_id);
