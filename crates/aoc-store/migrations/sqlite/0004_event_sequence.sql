-- Event positions for consumers (alerts, forwarding): `seq` already orders events in commit
-- order, because the one writer gives each batch seqs above every stored one inside its
-- `BEGIN IMMEDIATE` transaction. What could break that is a seq used twice: the store takes
-- max(seq) + 1, so deleting the newest rows would hand their seqs to the next batch, which a
-- consumer already past them would never see. Deletes therefore record the highest seq they
-- removed, and the store numbers new rows above that as well.
CREATE TABLE event_sequence (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    highest_deleted INTEGER NOT NULL
) STRICT;

INSERT INTO event_sequence (id, highest_deleted) VALUES (1, 0);

CREATE TRIGGER events_delete_keeps_seq AFTER DELETE ON events
WHEN old.seq > (SELECT highest_deleted FROM event_sequence WHERE id = 1) BEGIN
    UPDATE event_sequence SET highest_deleted = old.seq WHERE id = 1;
END;

-- Each consumer's position: the seq of the last event it handled. Keyed by the consumer's
-- name alone for now; a tenant column joins the key when events carry one.
CREATE TABLE consumer_cursors (
    consumer TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    updated_at_us INTEGER NOT NULL
) STRICT;
