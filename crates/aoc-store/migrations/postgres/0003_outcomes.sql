-- One outcome vocabulary (success, failure, partial, unknown) in `result`, and the source's
-- own word in `result_detail`. Rows stored before keep their word as the detail and get the
-- vocabulary at once, so filters and filter options agree straight after the upgrade; the
-- spellings mirror `aoc_domain::Outcome::parse` (ignoring case, spaces, '-' and '_').
-- `aoc maintenance renormalize` later rederives both from the raw record (which also knows,
-- for example, that an Entra STS logon with a LogonError failed).
ALTER TABLE events ADD COLUMN result_detail TEXT COLLATE "C" NOT NULL DEFAULT '';

UPDATE events SET
    result_detail = result,
    result = CASE lower(replace(replace(replace(trim(result), ' ', ''), '-', ''), '_', ''))
        WHEN 'success' THEN 'success'
        WHEN 'succeeded' THEN 'success'
        WHEN 'successful' THEN 'success'
        WHEN 'true' THEN 'success'
        WHEN 'failure' THEN 'failure'
        WHEN 'failed' THEN 'failure'
        WHEN 'fail' THEN 'failure'
        WHEN 'false' THEN 'failure'
        WHEN 'timeout' THEN 'failure'
        WHEN 'partial' THEN 'partial'
        WHEN 'partiallysucceeded' THEN 'partial'
        WHEN 'partialsuccess' THEN 'partial'
        ELSE 'unknown'
    END;
