-- Event positions for consumers (alerts, forwarding). A sequence value alone is not in commit
-- order here: a transaction can take seq 10, another seq 11 and commit first, and a consumer
-- that read 11 and moved its cursor there would never see 10. So each row also keeps the id
-- of the transaction that inserted it, and consumers read in (xid, seq) order only rows whose
-- xid is below the reading snapshot's xmin (see src/postgres/sequence.rs for why that never
-- skips a row).
--
-- Rows stored before this migration were all committed, so they share xid 1, below every real
-- transaction id (those start at 3), and get seqs in (ts, id) order: a consumer that starts
-- from the beginning reads the old events oldest first, then everything stored since.
-- The constant default keeps ADD COLUMN from rewriting the table; only the seq backfill does.
ALTER TABLE events ADD COLUMN xid xid8 NOT NULL DEFAULT '1';
ALTER TABLE events ADD COLUMN seq BIGINT;

CREATE SEQUENCE events_seq AS BIGINT OWNED BY events.seq;

UPDATE events e SET seq = o.n
FROM (SELECT id, row_number() OVER (ORDER BY ts, id) AS n FROM events) o
WHERE o.id = e.id;

SELECT setval('events_seq', coalesce((SELECT max(seq) FROM events), 0) + 1, false);

-- Both defaults are computed by the server inside the insert statement: no round trip per row.
ALTER TABLE events
    ALTER COLUMN xid SET DEFAULT pg_current_xact_id(),
    ALTER COLUMN seq SET DEFAULT nextval('events_seq'),
    ALTER COLUMN seq SET NOT NULL;

CREATE INDEX events_position ON events (xid, seq);

-- Each consumer's position: the (xid, seq) of the last event it handled. Keyed by the
-- consumer's name alone for now; a tenant column joins the key when events carry one. Several
-- replicas may run one consumer: the store only ever moves a cursor forward.
CREATE TABLE consumer_cursors (
    consumer TEXT COLLATE "C" PRIMARY KEY,
    xid xid8 NOT NULL,
    seq BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
