//! Row mappings of the alerting tables, shared like the others in `rows`: both backends select
//! the same column names, timestamps as integer microseconds (`*_us`), JSON as text, booleans
//! and small counters as 64-bit integers.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use super::{ReadColumns, time};
use crate::alerting::{Alert, AlertCount, OutboxItem, OutboxStatus, SavedSearch, StoredRule};
use crate::{StoreError, StoreResult};

/// JSON text of a column; `what` names the table and column in the error.
fn json<T: DeserializeOwned>(what: &str, text: &str) -> StoreResult<T> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

fn time_or_null(
    row: &impl ReadColumns,
    what: &str,
    column: &str,
) -> StoreResult<Option<DateTime<Utc>>> {
    row.int_or_null(column)?
        .map(|us| time(what, us))
        .transpose()
}

fn count(row: &impl ReadColumns, column: &str) -> StoreResult<u64> {
    Ok(u64::try_from(row.int(column)?).unwrap_or(0))
}

/// `id, definition, created_at_us, updated_at_us`.
/// Rule matches read as (event id, microseconds), with their times checked.
pub(crate) fn rule_matches(
    rows: impl IntoIterator<Item = (String, i64)>,
) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
    rows.into_iter()
        .map(|(id, us)| Ok((id, time("rule match", us)?)))
        .collect()
}

pub(crate) fn rule(row: &impl ReadColumns) -> StoreResult<StoredRule> {
    Ok(StoredRule {
        id: row.text("id")?,
        definition: json("rule definition", &row.text("definition")?)?,
        created_at: time("rules", row.int("created_at_us")?)?,
        updated_at: time("rules", row.int("updated_at_us")?)?,
    })
}

/// Every column of `alerts`, times as `*_us`, `event_ids` and `services` as JSON text.
pub(crate) fn alert(row: &impl ReadColumns) -> StoreResult<Alert> {
    Ok(Alert {
        id: row.int("id")?,
        rule_id: row.text("rule_id")?,
        rule_name: row.text("rule_name")?,
        severity: row.text("severity")?,
        dedupe_key: row.text("dedupe_key")?,
        group_key: row.text_or_null("group_key")?,
        first_seen: time("alerts", row.int("first_seen_us")?)?,
        last_seen: time("alerts", row.int("last_seen_us")?)?,
        event_ids: json("alert event_ids", &row.text("event_ids")?)?,
        services: json("alert services", &row.text("services")?)?,
        summary: row.text("summary")?,
        status: row.text("status")?,
        created_at: time("alerts", row.int("created_at_us")?)?,
        updated_at: time("alerts", row.int("updated_at_us")?)?,
        updated_by: row.text_or_null("updated_by")?,
        note: row.text_or_null("note")?,
    })
}

/// `rule_id, severity, status, count`.
pub(crate) fn alert_count(row: &impl ReadColumns) -> StoreResult<AlertCount> {
    Ok(AlertCount {
        rule_id: row.text("rule_id")?,
        severity: row.text("severity")?,
        status: row.text("status")?,
        count: count(row, "count")?,
    })
}

/// `id, owner, name, shared (0 or 1), filters, created_at_us, updated_at_us`.
pub(crate) fn saved_search(row: &impl ReadColumns) -> StoreResult<SavedSearch> {
    Ok(SavedSearch {
        id: row.text("id")?,
        owner: row.text("owner")?,
        name: row.text("name")?,
        shared: row.int("shared")? != 0,
        filters: json("saved search filters", &row.text("filters")?)?,
        created_at: time("saved searches", row.int("created_at_us")?)?,
        updated_at: time("saved searches", row.int("updated_at_us")?)?,
    })
}

/// `id, channel, dedupe_key, payload, attempts, next_attempt_at_us, last_error,
/// delivered_at_us, created_at_us`.
pub(crate) fn outbox_item(row: &impl ReadColumns) -> StoreResult<OutboxItem> {
    Ok(OutboxItem {
        id: row.int("id")?,
        channel: row.text("channel")?,
        dedupe_key: row.text("dedupe_key")?,
        payload: json("outbox payload", &row.text("payload")?)?,
        attempts: u32::try_from(row.int("attempts")?).unwrap_or(u32::MAX),
        next_attempt_at: time("outbox", row.int("next_attempt_at_us")?)?,
        last_error: row.text_or_null("last_error")?,
        delivered_at: time_or_null(row, "outbox", "delivered_at_us")?,
        created_at: time("outbox", row.int("created_at_us")?)?,
    })
}

/// `channel, pending, delivered, last_delivered_at_us, last_error`.
pub(crate) fn outbox_status(row: &impl ReadColumns) -> StoreResult<OutboxStatus> {
    Ok(OutboxStatus {
        channel: row.text("channel")?,
        pending: count(row, "pending")?,
        delivered: count(row, "delivered")?,
        last_delivered_at: time_or_null(row, "outbox", "last_delivered_at_us")?,
        last_error: row.text_or_null("last_error")?,
    })
}
