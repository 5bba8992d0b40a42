-- Every delete of the janitor (every ten minutes, in every server process) uses an index
-- (issue 20). Without these, the deletes of expired refresh tokens, challenges, sessions,
-- sends, send limits, old messages, OpenID Connect codes and single sign-ons read their
-- tables whole: at a million accounts,
-- with 2M sessions and 4M refresh tokens, about 1 GB and 0.4 s, during which SQLite's one
-- writer serves no request. Refresh tokens are the largest table by far (every rotation
-- adds one, kept until it expires for reuse detection). The new entries of
-- refresh_tokens_expires and sessions_refresh_expires land at the indexes' end (a new
-- expiry is the latest), so a rotation's added index work stays on warm pages: 3.5 %
-- fewer rotations/s on an empty SQLite file. sessions_absolute_expires is not partial
-- (WHERE absolute_expires_at > 0): on SQLite that form cost every rotation 21 %
-- (docs/benchmarks.md).
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX challenges_expires ON challenges (expires_at);
CREATE INDEX sessions_refresh_expires ON sessions (refresh_expires_at);
CREATE INDEX sessions_revoked ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX sessions_absolute_expires ON sessions (absolute_expires_at);
CREATE INDEX messages_created ON messages (created_at);
CREATE INDEX sends_sent ON sends (sent_at);
CREATE INDEX send_limits_last_sent ON send_limits (last_sent_at);
CREATE INDEX oidc_codes_expires ON oidc_codes (expires_at);
CREATE INDEX sso_sessions_expires ON sso_sessions (expires_at);
CREATE INDEX sso_sessions_revoked ON sso_sessions (revoked_at) WHERE revoked_at IS NOT NULL;
