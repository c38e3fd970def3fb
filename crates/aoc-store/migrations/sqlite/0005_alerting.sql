-- Alerting: rules, the matches threshold rules count, raised alerts, saved searches and the
-- notification outbox. Timestamps are integer microseconds (`*_us`) like every other table;
-- JSON is text.

-- A rule's definition is `aoc-domain`'s JSON; the store only keeps it.
CREATE TABLE rules (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_at_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL
) STRICT;

-- What threshold rules count: one row per (rule, event), counted per group over a window.
CREATE TABLE rule_matches (
    rule_id TEXT NOT NULL,
    group_key TEXT NOT NULL,
    event_id TEXT NOT NULL,
    occurred_at_us INTEGER NOT NULL,
    UNIQUE (rule_id, event_id)
) STRICT;

CREATE INDEX rule_matches_window ON rule_matches (rule_id, group_key, occurred_at_us);
-- Pruning deletes by age across every rule.
CREATE INDEX rule_matches_age ON rule_matches (occurred_at_us);

-- AUTOINCREMENT so an id is never reused: ids are the listing cursor. The unique dedupe key
-- is what makes raising idempotent.
CREATE TABLE alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key TEXT NOT NULL UNIQUE,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    severity TEXT NOT NULL,
    group_key TEXT,
    first_seen_us INTEGER NOT NULL,
    last_seen_us INTEGER NOT NULL,
    event_ids TEXT NOT NULL DEFAULT '[]',
    services TEXT NOT NULL DEFAULT '[]',
    summary TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    created_at_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL,
    updated_by TEXT,
    note TEXT
) STRICT;

-- Listing is newest first by id, optionally narrowed to one status, severity or rule.
CREATE INDEX alerts_status ON alerts (status, id DESC);
CREATE INDEX alerts_severity ON alerts (severity, id DESC);
CREATE INDEX alerts_rule ON alerts (rule_id, id DESC);

CREATE TABLE saved_searches (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    shared INTEGER NOT NULL DEFAULT 0,
    filters TEXT NOT NULL DEFAULT '{}',
    created_at_us INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL
) STRICT;

CREATE INDEX saved_searches_owner ON saved_searches (owner, name);

-- Messages to deliver. `failed_at_us` says which failure is the latest (what the status shows).
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_us INTEGER NOT NULL,
    last_error TEXT,
    failed_at_us INTEGER,
    delivered_at_us INTEGER,
    created_at_us INTEGER NOT NULL
) STRICT;

-- Only undelivered items are ever due: the index stays as small as the backlog.
CREATE INDEX outbox_due ON outbox (next_attempt_at_us, id) WHERE delivered_at_us IS NULL;
CREATE INDEX outbox_channel ON outbox (channel);
