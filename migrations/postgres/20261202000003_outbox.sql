-- Events to deliver (SPEC §11), one row per event and sink, written in the transaction of the
-- change. `seq` orders them; a row leaves the table when its sink has it. `record` is the
-- media record as it was after the change, from which the event's `data` is made.
CREATE TABLE outbox (
    seq             BIGSERIAL PRIMARY KEY,
    id              UUID NOT NULL,               -- the event id (CloudEvents `id`), one per change
    sink            TEXT NOT NULL,               -- `nats` or `webhook:<url>`
    event_type      TEXT NOT NULL,               -- media.uploaded, media.mapped, ...
    media_id        UUID NOT NULL,
    record          JSONB NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    leased_until    TIMESTAMPTZ,                  -- claimed by a dispatcher until then
    last_error      TEXT,
    dead_at         TIMESTAMPTZ,                  -- a dead letter since then
    UNIQUE (id, sink)
);
CREATE INDEX outbox_due ON outbox (sink, next_attempt_at) WHERE dead_at IS NULL;
CREATE INDEX outbox_by_media ON outbox (sink, media_id, seq) WHERE dead_at IS NULL;

-- Background work on media (variants made ahead of their first request). One row per media
-- and variant; `offpeak` ones run only inside OFFPEAK_WINDOW.
CREATE TABLE jobs (
    seq             BIGSERIAL PRIMARY KEY,
    media_id        UUID NOT NULL,
    variant         TEXT NOT NULL,
    offpeak         BOOLEAN NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    leased_until    TIMESTAMPTZ,
    last_error      TEXT,
    failed_at       TIMESTAMPTZ,                  -- gave up after JOB_MAX_ATTEMPTS
    UNIQUE (media_id, variant)
);
CREATE INDEX jobs_due ON jobs (offpeak, next_attempt_at) WHERE failed_at IS NULL;
