-- The OpenID Connect provider: registered applications, signing keys, browser
-- single sign-on, pending authorization requests, codes, grants and their tokens.

-- Applications IT registered (`latchkey-server client add`). A confidential client's
-- secret is kept as its SHA-256 (it is 256 random bits, so a fast hash is enough);
-- a public client (a native app, PKCE only) has none.
CREATE TABLE oidc_clients (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    secret_hash   TEXT,
    redirect_uris TEXT NOT NULL,
    first_party   BIGINT NOT NULL DEFAULT 0,
    require_2fa   BIGINT NOT NULL DEFAULT 0,
    id_token_alg  TEXT NOT NULL DEFAULT 'RS256',
    created_at    BIGINT NOT NULL
);

-- ID-token signing keys: the private key sealed with LATCHKEY_SECRET_KEY (its kid as
-- associated data), the public one as a JWK. The newest key of an algorithm signs; a
-- key replaced by `keys rotate` stays published until the tokens it signed expire.
CREATE TABLE oidc_keys (
    kid            TEXT PRIMARY KEY,
    alg            TEXT NOT NULL,
    private_sealed TEXT NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT
);
CREATE INDEX oidc_keys_alg ON oidc_keys (alg, created_at);

-- A browser's single sign-on: the cookie's SHA-256, the Latchkey session it stands
-- on (revoking that session, e.g. by "sign out everywhere", ends it), and how the
-- person signed in.
CREATE TABLE sso_sessions (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    auth_time  BIGINT NOT NULL,
    amr        TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sso_sessions_user ON sso_sessions (user_id);
CREATE INDEX sso_sessions_session ON sso_sessions (session_id);

-- An authorization request checked and waiting for the person to sign in (or
-- consent): its id travels in the sign-in pages' URLs.
CREATE TABLE oidc_requests (
    id         TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    params     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_requests_expires ON oidc_requests (expires_at);

-- What a person allowed a third-party application to receive.
CREATE TABLE oidc_consents (
    user_id    TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    scope      TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);

-- One grant per authorization: the code that starts it and every token issued from
-- it hang off it, so that a replayed code or a reused refresh token revokes the lot.
CREATE TABLE oidc_grants (
    id          TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    sso_token   TEXT,
    scope       TEXT NOT NULL,
    nonce       TEXT,
    auth_time   BIGINT NOT NULL,
    amr         TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    revoked_at  BIGINT
);
CREATE INDEX oidc_grants_user ON oidc_grants (user_id);
CREATE INDEX oidc_grants_sso ON oidc_grants (sso_token);

CREATE TABLE oidc_codes (
    code_hash      TEXT PRIMARY KEY,
    grant_id       TEXT NOT NULL,
    redirect_uri   TEXT NOT NULL,
    code_challenge TEXT,
    expires_at     BIGINT NOT NULL,
    used_at        BIGINT
);
CREATE INDEX oidc_codes_grant ON oidc_codes (grant_id);

-- Access and refresh tokens (their SHA-256). A refresh token is used once: its
-- successor is issued in the same transaction that marks it used.
CREATE TABLE oidc_tokens (
    token_hash TEXT PRIMARY KEY,
    grant_id   TEXT NOT NULL,
    kind       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX oidc_tokens_grant ON oidc_tokens (grant_id);
CREATE INDEX oidc_tokens_expires ON oidc_tokens (expires_at);
