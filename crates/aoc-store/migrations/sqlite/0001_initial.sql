-- Events are split in two tables: `events` holds what filters, sorts and text search read
-- (rows of a few hundred bytes, so scans and candidate checks touch few pages); the bulky
-- JSON (actor, targets, raw record) lives in `event_bodies`, read only for returned events.
-- `seq` joins them and is the rowid the full-text indexes point at. `id` and `dedupe_key`
-- are the two identities an insert skips on. Timestamps are integer microseconds since the
-- epoch. JSON columns hold text exactly as the store wrote it.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    dedupe_key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    ts INTEGER NOT NULL,
    service TEXT NOT NULL,
    operation TEXT NOT NULL,
    result TEXT NOT NULL,
    actor_display TEXT NOT NULL,
    target_displays TEXT NOT NULL,
    display_summary TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    comments TEXT NOT NULL DEFAULT '[]',
    -- Lowercased actor, targets, operation and summary: what substring search runs over.
    search_short TEXT NOT NULL
) STRICT;

-- `body`: the actor, targets and raw record JSON texts, newline separated and
-- deflate-compressed by the store (see src/sqlite/body.rs): less than half the bytes.
CREATE TABLE event_bodies (
    seq INTEGER PRIMARY KEY,
    body BLOB NOT NULL
) STRICT;

-- Newest-first keyset pages. The per-filter indexes leave the id out (ties on a timestamp
-- under one filter value are rare and sorted on the fly) to keep them small.
CREATE INDEX events_ts ON events (ts DESC, id DESC);
CREATE INDEX events_service_ts ON events (service, ts DESC);
CREATE INDEX events_operation_ts ON events (operation, ts DESC);
CREATE INDEX events_actor_ts ON events (actor_display, ts DESC);
CREATE INDEX events_result_ts ON events (result, ts DESC);

-- Substring search: trigrams of search_short. detail=none keeps the index small; it only
-- finds candidate rows, which the query confirms with instr() on search_short.
CREATE VIRTUAL TABLE events_short_fts USING fts5(
    search_short,
    content = 'events',
    content_rowid = 'seq',
    tokenize = 'trigram case_sensitive 1',
    detail = none
);

-- Word search over the string and number values of the raw record. The store computes the
-- words (lowercased, joined by spaces; '-', '.', '@' and '_' stay inside a word so a GUID,
-- IP address or UPN is one word) and inserts them with the event's seq as rowid.
-- Contentless: the words are not stored twice; contentless_delete lets rows go by rowid.
CREATE VIRTUAL TABLE events_raw_fts USING fts5(
    words,
    content = '',
    contentless_delete = 1,
    tokenize = "unicode61 remove_diacritics 0 tokenchars '-.@_'"
);

-- Ingest commits ~1000 events at a time, each commit writing a new index segment. Merging
-- 16 segments at a time (not 4) rewrites each posting fewer times; a bigger pending-term
-- hash avoids flushing mid-batch. `EventStore::optimize` merges everything when wanted.
INSERT INTO events_short_fts (events_short_fts, rank) VALUES ('automerge', 16);
INSERT INTO events_short_fts (events_short_fts, rank) VALUES ('hashsize', 16777216);
INSERT INTO events_raw_fts (events_raw_fts, rank) VALUES ('automerge', 16);
INSERT INTO events_raw_fts (events_raw_fts, rank) VALUES ('hashsize', 16777216);

-- The short-text index follows `events` through triggers. Bodies and raw words are written
-- by the store (inserts and updates) and removed here.
CREATE TRIGGER events_insert AFTER INSERT ON events BEGIN
    INSERT INTO events_short_fts (rowid, search_short) VALUES (new.seq, new.search_short);
END;

CREATE TRIGGER events_delete AFTER DELETE ON events BEGIN
    INSERT INTO events_short_fts (events_short_fts, rowid, search_short)
        VALUES ('delete', old.seq, old.search_short);
    DELETE FROM events_raw_fts WHERE rowid = old.seq;
    DELETE FROM event_bodies WHERE seq = old.seq;
END;

CREATE TRIGGER events_update_short AFTER UPDATE OF search_short ON events
WHEN old.search_short IS NOT new.search_short BEGIN
    INSERT INTO events_short_fts (events_short_fts, rowid, search_short)
        VALUES ('delete', old.seq, old.search_short);
    INSERT INTO events_short_fts (rowid, search_short) VALUES (new.seq, new.search_short);
END;

CREATE TABLE watermarks (
    source TEXT PRIMARY KEY,
    at_us INTEGER NOT NULL
) STRICT;

CREATE TABLE source_health (
    source TEXT PRIMARY KEY,
    last_attempt_us INTEGER,
    last_success_us INTEGER,
    last_error TEXT,
    last_count INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE name_cache (
    object_id TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    expires_at_us INTEGER NOT NULL
) STRICT;
