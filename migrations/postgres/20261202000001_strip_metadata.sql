-- What stripping learnt at ingest: the EXIF orientation (1-8) kept in the stored file, the frame
-- count of an animation, and whether the stored bytes are stripped (STRIP_METADATA) or as sent.
-- Rows from before keep their bytes as sent.
ALTER TABLE media
    ADD COLUMN orientation INTEGER NOT NULL DEFAULT 1 CHECK (orientation BETWEEN 1 AND 8),
    ADD COLUMN frames INTEGER CHECK (frames > 0),
    ADD COLUMN metadata_stripped BOOLEAN NOT NULL DEFAULT false;
