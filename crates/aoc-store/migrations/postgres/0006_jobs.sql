-- Long work run as jobs (fetch, import, renormalize, rule tests): queued by a request, claimed
-- by one worker (`FOR UPDATE SKIP LOCKED`, so replicas never run a job twice), watched through
-- its progress and heartbeat. Params and result are JSON kept as text (NUL-safe, like the
-- activity log's detail).
CREATE TABLE jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL DEFAULT 'queued',
    params TEXT NOT NULL DEFAULT '{}',
    result TEXT,
    error TEXT,
    progress_done BIGINT NOT NULL DEFAULT 0,
    progress_total BIGINT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    started_at TIMESTAMPTZ,
    finished_at TIMESTAMPTZ,
    heartbeat_at TIMESTAMPTZ,
    worker TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT false
);

-- Claiming takes the oldest queued job; the stale sweep looks at running ones.
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_kind ON jobs (kind, id);
