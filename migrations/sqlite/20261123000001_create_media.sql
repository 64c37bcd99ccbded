-- One row per stored file. Timestamps are RFC 3339 UTC text with millisecond precision, always
-- written in the same fixed format so that text comparison orders them correctly.
CREATE TABLE media (
    id            BLOB PRIMARY KEY NOT NULL,   -- UUID v4, 16 bytes
    name          TEXT NOT NULL UNIQUE,        -- <sha1>-<unix ms>.<ext>
    content_type  TEXT NOT NULL,
    size          INTEGER NOT NULL CHECK (size > 0),
    sha1          TEXT NOT NULL,
    width         INTEGER NOT NULL,
    height        INTEGER NOT NULL,
    original_name TEXT,
    created_at    TEXT NOT NULL,
    owner         TEXT,
    mapped_at     TEXT,
    metadata      TEXT                         -- JSON, set when mapped
) STRICT;

-- The sweeper looks for old uploads that were never mapped.
CREATE INDEX media_unmapped_by_age ON media (created_at) WHERE owner IS NULL;
CREATE INDEX media_by_owner ON media (owner) WHERE owner IS NOT NULL;
