-- The request id (issue 22) of the HTTP request that wrote a record, so that IT can go
-- from an activity or audit record to the server's log lines of that request. NULL for
-- records written by the command line or a background task, and for older records.
-- (0011 is the directory's, issue 19.)
ALTER TABLE activity ADD COLUMN request_id TEXT;
ALTER TABLE audit ADD COLUMN request_id TEXT;
