-- Conditional GET: the validators of each feed's last response (ETag, Last-Modified).
ALTER TABLE feeds ADD COLUMN etag TEXT;
ALTER TABLE feeds ADD COLUMN last_modified TEXT;
