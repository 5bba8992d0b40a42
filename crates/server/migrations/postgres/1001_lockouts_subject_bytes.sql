-- PostgreSQL only (issue 20): the lockouts' subjects in byte order, so that "every
-- subject that starts with device:{id}:" (a password reset or change forgets the
-- remembered devices' lock budgets) is a range of this index:
-- subject COLLATE "C" >= 'device:{id}:' AND subject COLLATE "C" < 'device:{id};'.
-- The primary key follows the database's collation, in which such a range is not a
-- prefix, so the statement read the whole table. SQLite's primary key compares bytes
-- already (and SQLite knows no "C" collation).
CREATE INDEX lockouts_subject_bytes ON lockouts (subject COLLATE "C");
