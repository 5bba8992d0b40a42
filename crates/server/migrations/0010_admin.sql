-- IT's console and admin API (issue 18): the roles given to accounts, and the audit
-- trail of what admins did. (0008 and 0009 are left to the reliability work.)

-- An account's role in the console: 'helpdesk' or 'admin'. No row: no role.
CREATE TABLE admin_roles (
    user_id    TEXT PRIMARY KEY,
    role       TEXT NOT NULL,
    granted_at BIGINT NOT NULL
);

-- One admin action: who (and with which role), when, from where, what, on whom, and
-- what changed (a JSON array of {field, before, after}; never a secret). The actor's
-- and the target's labels are kept as they were, except that deleting an account
-- erases its label from the records about it (the id stays, anonymous).
CREATE TABLE audit (
    id           TEXT PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor_id     TEXT,
    actor_label  TEXT,
    role         TEXT,
    ip           TEXT,
    action       TEXT NOT NULL,
    target_id    TEXT,
    target_label TEXT,
    changes      TEXT
);
CREATE INDEX audit_at ON audit (at, id);
CREATE INDEX audit_target ON audit (target_id);
