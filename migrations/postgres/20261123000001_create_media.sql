-- One row per stored file.
CREATE TABLE media (
    id            UUID PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,        -- <sha1>-<unix ms>.<ext>
    content_type  TEXT NOT NULL,
    size          BIGINT NOT NULL CHECK (size > 0),
    sha1          TEXT NOT NULL,
    width         BIGINT NOT NULL,
    height        BIGINT NOT NULL,
    original_name TEXT,
    created_at    TIMESTAMPTZ NOT NULL,
    owner         TEXT,
    mapped_at     TIMESTAMPTZ,
    metadata      JSONB                        -- set when mapped
);

-- The sweeper looks for old uploads that were never mapped.
CREATE INDEX media_unmapped_by_age ON media (created_at) WHERE owner IS NULL;
CREATE INDEX media_by_owner ON media (owner) WHERE owner IS NOT NULL;
