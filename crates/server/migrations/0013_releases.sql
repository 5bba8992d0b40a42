-- Releases of the desktop app that IT publishes for in-app updates (issue 17):
-- `latchkey-server release add|list|remove`, served by
-- GET /v1/client/update/{target}/{arch}/{current_version}. One row per platform key
-- (`windows-x86_64`, or with the installer: `linux-x86_64-appimage`) and version; the
-- signature is the minisign signature of the artifact at `url`, base64 as the updater
-- reads it. `required` marks a release every client must install (it raised
-- min_client_version when it was added).
CREATE TABLE releases (
    platform  TEXT NOT NULL,
    version   TEXT NOT NULL,
    url       TEXT NOT NULL,
    signature TEXT NOT NULL,
    notes     TEXT,
    required  BIGINT NOT NULL DEFAULT 0,
    published BIGINT NOT NULL,
    PRIMARY KEY (platform, version)
);
