-- pg_trgm serves substring search. Installed once per database; IF NOT EXISTS makes a second
-- schema in the same database reuse it (it must then be on the search_path).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Text columns compare bytewise (COLLATE "C") so sort order and keyset tie-breaks agree with
-- SQLite's BINARY collation.
CREATE TABLE events (
    id TEXT COLLATE "C" PRIMARY KEY,
    dedupe_key TEXT COLLATE "C" NOT NULL UNIQUE,
    source TEXT NOT NULL,
    ts TIMESTAMPTZ NOT NULL,
    service TEXT COLLATE "C" NOT NULL,
    operation TEXT COLLATE "C" NOT NULL,
    result TEXT COLLATE "C" NOT NULL,
    actor_display TEXT COLLATE "C" NOT NULL,
    actor JSONB NOT NULL,
    target_displays JSONB NOT NULL,
    targets JSONB NOT NULL,
    display_summary TEXT NOT NULL,
    raw JSONB NOT NULL,
    tags JSONB NOT NULL DEFAULT '[]',
    comments JSONB NOT NULL DEFAULT '[]',
    -- Lowercased actor, targets, operation and summary: what substring search runs over.
    search_short TEXT COLLATE "C" NOT NULL,
    -- Words of the raw record's string and number values, computed by the store (the same
    -- words SQLite indexes) and written as a tsvector literal, not re-parsed by PostgreSQL.
    raw_words TSVECTOR NOT NULL
);

CREATE INDEX events_ts ON events (ts DESC, id DESC);
CREATE INDEX events_service_ts ON events (service, ts DESC, id DESC);
CREATE INDEX events_operation_ts ON events (operation, ts DESC, id DESC);
CREATE INDEX events_actor_ts ON events (actor_display, ts DESC, id DESC);
CREATE INDEX events_result_ts ON events (result, ts DESC, id DESC);
CREATE INDEX events_search_short_trgm ON events USING gin (search_short gin_trgm_ops);
CREATE INDEX events_raw_words ON events USING gin (raw_words);

CREATE TABLE watermarks (
    source TEXT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL
);

CREATE TABLE source_health (
    source TEXT COLLATE "C" PRIMARY KEY,
    last_attempt TIMESTAMPTZ,
    last_success TIMESTAMPTZ,
    last_error TEXT,
    last_count BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE name_cache (
    object_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL
);
