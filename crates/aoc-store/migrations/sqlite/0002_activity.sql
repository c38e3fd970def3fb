-- The activity log: AOC's own write actions. AUTOINCREMENT so an id is never reused after a
-- delete, which keeps the id cursor of the log meaningful. Newest first is the primary key
-- order reversed: no further index needed.
CREATE TABLE activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_us INTEGER NOT NULL,
    actor TEXT NOT NULL,
    subject TEXT,
    action TEXT NOT NULL,
    target TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
) STRICT;
