-- Alerting: rules, the matches threshold rules count, raised alerts, saved searches and the
-- notification outbox. Identifiers and names compare bytewise (COLLATE "C"), as on SQLite.

-- A rule's definition is `aoc-domain`'s JSON; the store only keeps it.
CREATE TABLE rules (
    id TEXT COLLATE "C" PRIMARY KEY,
    definition JSONB NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

-- What threshold rules count: one row per (rule, event), counted per group over a window.
CREATE TABLE rule_matches (
    rule_id TEXT COLLATE "C" NOT NULL,
    group_key TEXT COLLATE "C" NOT NULL,
    event_id TEXT COLLATE "C" NOT NULL,
    occurred_at TIMESTAMPTZ NOT NULL,
    UNIQUE (rule_id, event_id)
);

CREATE INDEX rule_matches_window ON rule_matches (rule_id, group_key, occurred_at);
-- Pruning deletes by age across every rule.
CREATE INDEX rule_matches_age ON rule_matches (occurred_at);

-- The unique dedupe key is what makes raising idempotent, across replicas too.
CREATE TABLE alerts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key TEXT COLLATE "C" NOT NULL UNIQUE,
    rule_id TEXT COLLATE "C" NOT NULL,
    rule_name TEXT NOT NULL,
    severity TEXT COLLATE "C" NOT NULL,
    group_key TEXT,
    first_seen TIMESTAMPTZ NOT NULL,
    last_seen TIMESTAMPTZ NOT NULL,
    event_ids JSONB NOT NULL DEFAULT '[]',
    services JSONB NOT NULL DEFAULT '[]',
    summary TEXT NOT NULL,
    status TEXT COLLATE "C" NOT NULL DEFAULT 'open',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT,
    note TEXT
);

-- Listing is newest first by id, optionally narrowed to one status, severity or rule.
CREATE INDEX alerts_status ON alerts (status, id DESC);
CREATE INDEX alerts_severity ON alerts (severity, id DESC);
CREATE INDEX alerts_rule ON alerts (rule_id, id DESC);

CREATE TABLE saved_searches (
    id TEXT COLLATE "C" PRIMARY KEY,
    owner TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    shared BOOLEAN NOT NULL DEFAULT false,
    filters JSONB NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE INDEX saved_searches_owner ON saved_searches (owner, name);

-- Messages to deliver. `failed_at` says which failure is the latest (what the status shows).
CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel TEXT COLLATE "C" NOT NULL,
    dedupe_key TEXT COLLATE "C" NOT NULL UNIQUE,
    payload JSONB NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT,
    failed_at TIMESTAMPTZ,
    delivered_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);

-- Only undelivered items are ever due: the index stays as small as the backlog.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE delivered_at IS NULL;
CREATE INDEX outbox_channel ON outbox (channel);
