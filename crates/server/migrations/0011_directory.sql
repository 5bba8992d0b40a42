-- The company directory (issue 19): an account may be linked to a directory entry by
-- the entry's stable id (entryUUID, or objectGUID in hex), never by its DN, which
-- changes when the entry is renamed or moved. A linked account has no password here
-- (its password_hash is a marker no password matches): the directory checks it.
ALTER TABLE users ADD COLUMN directory_id TEXT;
ALTER TABLE users ADD COLUMN directory_dn TEXT;
CREATE UNIQUE INDEX users_directory_id ON users (directory_id);
