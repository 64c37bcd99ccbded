-- Events to deliver (SPEC §11), one row per event and sink, written in the transaction of the
-- change. `seq` orders them; a row leaves the table when its sink has it. `record` is the
-- media record as it was after the change (JSON), from which the event's `data` is made.
CREATE TABLE outbox (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    id              BLOB NOT NULL,               -- the event id (CloudEvents `id`), one per change
    sink            TEXT NOT NULL,               -- `nats` or `webhook:<url>`
    event_type      TEXT NOT NULL,               -- media.uploaded, media.mapped, ...
    media_id        BLOB NOT NULL,
    record          TEXT NOT NULL,
    occurred_at     TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    leased_until    TEXT,                         -- claimed by a dispatcher until then
    last_error      TEXT,
    dead_at         TEXT,                         -- a dead letter since then
    UNIQUE (id, sink)
) STRICT;
CREATE INDEX outbox_due ON outbox (sink, next_attempt_at) WHERE dead_at IS NULL;
CREATE INDEX outbox_by_media ON outbox (sink, media_id, seq) WHERE dead_at IS NULL;

-- Background work on media (variants made ahead of their first request). One row per media
-- and variant; `offpeak` ones run only inside OFFPEAK_WINDOW.
CREATE TABLE jobs (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    media_id        BLOB NOT NULL,
    variant         TEXT NOT NULL,
    offpeak         INTEGER NOT NULL,             -- 0 or 1
    created_at      TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    leased_until    TEXT,
    last_error      TEXT,
    failed_at       TEXT,                         -- gave up after JOB_MAX_ATTEMPTS
    UNIQUE (media_id, variant)
) STRICT;
CREATE INDEX jobs_due ON jobs (offpeak, next_attempt_at) WHERE failed_at IS NULL;
