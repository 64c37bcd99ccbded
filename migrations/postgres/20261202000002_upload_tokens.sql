-- What an upload token said of its files: the only owner they may be mapped to, and the token's
-- id, under which its files are counted against its max_files.
ALTER TABLE media
    ADD COLUMN owner_hint TEXT,
    ADD COLUMN upload_token UUID;
CREATE INDEX media_by_upload_token ON media (upload_token) WHERE upload_token IS NOT NULL;
