-- The desktop app as the key to office applications: approvals of browser sign-ins,
-- launch tickets, and the launcher's applications.

-- Where the launcher opens an application, and its icon (a data: URL, 64 KiB at most).
ALTER TABLE oidc_clients ADD COLUMN launch_url TEXT;
ALTER TABLE oidc_clients ADD COLUMN icon TEXT;

-- A browser sign-in waiting for the desktop app: the number the browser shows, the
-- browser, and (when the browser typed an identifier) the account it is for. Pending
-- for 2 minutes; answered once; used once by the browser.
CREATE TABLE approvals (
    id         TEXT PRIMARY KEY,
    request_id TEXT NOT NULL,
    user_id    TEXT,
    number     BIGINT NOT NULL,
    browser    TEXT NOT NULL,
    ip         TEXT,
    status     TEXT NOT NULL,
    session_id TEXT,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    decided_at BIGINT
);
CREATE INDEX approvals_expires ON approvals (expires_at);

-- A one-time ticket (30 s) with which the app opens an application in the browser,
-- signed in: its SHA-256, the application, and the app's session.
CREATE TABLE launch_tickets (
    ticket_hash TEXT PRIMARY KEY,
    client_id   TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    session_id  TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX launch_tickets_expires ON launch_tickets (expires_at);
