-- Long work run as jobs (fetch, import, renormalize, rule tests): queued by a request, claimed
-- by one worker, watched through its progress and heartbeat. AUTOINCREMENT so an id is never
-- reused: it is the list's cursor and what clients poll.
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'queued',
    params TEXT NOT NULL DEFAULT '{}',
    result TEXT,
    error TEXT,
    progress_done INTEGER NOT NULL DEFAULT 0,
    progress_total INTEGER,
    created_by TEXT NOT NULL,
    created_at_us INTEGER NOT NULL,
    started_at_us INTEGER,
    finished_at_us INTEGER,
    heartbeat_at_us INTEGER,
    worker TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
) STRICT;

-- Claiming takes the oldest queued job; the stale sweep looks at running ones.
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_kind ON jobs (kind, id);
