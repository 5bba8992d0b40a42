-- The janitor's DELETE FROM throttles WHERE window_start < $1 (every ten minutes, in
-- every server process) read the whole table, which every client address grows
-- (issue 20: 100,000 rows at a million accounts); with this index it reads the expired
-- windows only.
CREATE INDEX throttles_window ON throttles (window_start);
