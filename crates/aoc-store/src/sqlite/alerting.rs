//! Alerting on SQLite (migration 0005): rules, rule matches, alerts, saved searches and the
//! outbox. Writes go through the one writer connection, so "insert unless present, then read
//! back" cannot interleave with another writer here; reads use the reader pool.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{AssertSqlSafe, SqliteConnection, SqlitePool};

use crate::StoreResult;
use crate::alerting::{
    Alert, AlertCount, AlertQuery, GroupSpan, NewAlert, NewOutboxItem, OutboxItem, OutboxStatus,
    RuleMatch, SavedSearch, StoredRule,
};
use crate::codec::{micros, to_json};
use crate::rows::alerting as map;

const RULE_COLUMNS: &str = "id, definition, created_at_us, updated_at_us";

const ALERT_COLUMNS: &str = "id, rule_id, rule_name, severity, dedupe_key, group_key, \
     first_seen_us, last_seen_us, event_ids, services, summary, status, created_at_us, \
     updated_at_us, updated_by, note";

const SEARCH_COLUMNS: &str = "id, owner, name, shared, filters, created_at_us, updated_at_us";

const OUTBOX_COLUMNS: &str = "id, channel, dedupe_key, payload, attempts, next_attempt_at_us, \
     last_error, delivered_at_us, created_at_us";

fn limit(n: u32) -> i64 {
    i64::from(n)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

// --- Rules

pub(super) async fn list_rules(reader: &SqlitePool) -> StoreResult<Vec<StoredRule>> {
    let sql = format!("SELECT {RULE_COLUMNS} FROM rules ORDER BY id");
    let found = sqlx::query(AssertSqlSafe(sql)).fetch_all(reader).await?;
    found.iter().map(map::rule).collect()
}

pub(super) async fn get_rule(reader: &SqlitePool, id: &str) -> StoreResult<Option<StoredRule>> {
    let sql = format!("SELECT {RULE_COLUMNS} FROM rules WHERE id = ?");
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(reader)
        .await?;
    found.as_ref().map(map::rule).transpose()
}

pub(super) async fn put_rule(
    writer: &SqlitePool,
    id: &str,
    definition: &Value,
) -> StoreResult<StoredRule> {
    let now = micros(Utc::now());
    let sql = format!(
        "INSERT INTO rules (id, definition, created_at_us, updated_at_us) VALUES (?1, ?2, ?3, ?3) \
         ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, \
         updated_at_us = excluded.updated_at_us RETURNING {RULE_COLUMNS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .bind(to_json(definition)?)
        .bind(now)
        .fetch_one(writer)
        .await?;
    map::rule(&row)
}

pub(super) async fn insert_rule_if_absent(
    writer: &SqlitePool,
    id: &str,
    definition: &Value,
) -> StoreResult<bool> {
    let now = micros(Utc::now());
    let done = sqlx::query(
        "INSERT INTO rules (id, definition, created_at_us, updated_at_us) VALUES (?1, ?2, ?3, ?3) \
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(id)
    .bind(to_json(definition)?)
    .bind(now)
    .execute(writer)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_rule(writer: &SqlitePool, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM rules WHERE id = ?")
        .bind(id)
        .execute(writer)
        .await?;
    Ok(done.rows_affected() > 0)
}

// --- Rule matches

pub(super) async fn record_rule_matches(
    writer: &SqlitePool,
    matches: &[RuleMatch],
) -> StoreResult<()> {
    if matches.is_empty() {
        return Ok(());
    }
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    record_on(&mut tx, matches).await?;
    tx.commit().await?;
    Ok(())
}

async fn record_on(conn: &mut SqliteConnection, matches: &[RuleMatch]) -> StoreResult<()> {
    for m in matches {
        sqlx::query(
            "INSERT INTO rule_matches (rule_id, group_key, event_id, occurred_at_us) \
             VALUES (?, ?, ?, ?) ON CONFLICT (rule_id, event_id) DO NOTHING",
        )
        .bind(&m.rule_id)
        .bind(&m.group_key)
        .bind(&m.event_id)
        .bind(micros(m.occurred_at))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

pub(super) async fn rule_matches_in(
    reader: &SqlitePool,
    rule_id: &str,
    group_key: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    max: u32,
) -> StoreResult<(u64, Vec<(String, DateTime<Utc>)>)> {
    // One read transaction: the count and the ids come from the same snapshot.
    let mut tx = reader.begin().await?;
    let total: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM rule_matches WHERE rule_id = ? AND group_key = ? \
         AND occurred_at_us BETWEEN ? AND ?",
    )
    .bind(rule_id)
    .bind(group_key)
    .bind(micros(from))
    .bind(micros(to))
    .fetch_one(&mut *tx)
    .await?;
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT event_id, occurred_at_us FROM rule_matches WHERE rule_id = ? AND group_key = ? \
         AND occurred_at_us BETWEEN ? AND ? ORDER BY occurred_at_us, event_id LIMIT ?",
    )
    .bind(rule_id)
    .bind(group_key)
    .bind(micros(from))
    .bind(micros(to))
    .bind(limit(max))
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok((count(total), map::rule_matches(rows)?))
}

pub(super) async fn rule_match_counts(
    reader: &SqlitePool,
    rule_id: &str,
    spans: &[GroupSpan],
) -> StoreResult<Vec<u64>> {
    if spans.is_empty() {
        return Ok(Vec::new());
    }
    // The spans travel as one JSON array of [group, from, to]; each is counted on the
    // (rule_id, group_key, occurred_at_us) index.
    let spans_json = Value::Array(
        spans
            .iter()
            .map(|s| serde_json::json!([s.group_key, micros(s.from), micros(s.to)]))
            .collect(),
    );
    let counts: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT s.key, (SELECT count(*) FROM rule_matches m WHERE m.rule_id = ? \
         AND m.group_key = s.value ->> 0 \
         AND m.occurred_at_us BETWEEN s.value ->> 1 AND s.value ->> 2) \
         FROM json_each(?) AS s ORDER BY s.key",
    )
    .bind(rule_id)
    .bind(spans_json.to_string())
    .fetch_all(reader)
    .await?;
    Ok(counts.into_iter().map(|(_, n)| count(n)).collect())
}

pub(super) async fn prune_rule_matches(
    writer: &SqlitePool,
    cutoff: DateTime<Utc>,
) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM rule_matches WHERE occurred_at_us < ?")
        .bind(micros(cutoff))
        .execute(writer)
        .await?;
    Ok(done.rows_affected())
}

// --- Alerts

pub(super) async fn raise_alert(
    writer: &SqlitePool,
    alert: &NewAlert,
) -> StoreResult<(Alert, bool)> {
    let mut conn = writer.acquire().await?;
    raise_on(&mut conn, alert, micros(Utc::now())).await
}

/// [`raise_alert`] for each of `alerts`, in one transaction: one commit for a consumer
/// batch's alerts instead of one each.
pub(super) async fn raise_alerts(
    writer: &SqlitePool,
    alerts: &[NewAlert],
) -> StoreResult<Vec<(Alert, bool)>> {
    if alerts.is_empty() {
        return Ok(Vec::new());
    }
    let now = micros(Utc::now());
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let mut raised = Vec::with_capacity(alerts.len());
    for alert in alerts {
        raised.push(raise_on(&mut tx, alert, now).await?);
    }
    tx.commit().await?;
    Ok(raised)
}

async fn raise_on(
    conn: &mut SqliteConnection,
    alert: &NewAlert,
    now: i64,
) -> StoreResult<(Alert, bool)> {
    let inserted = sqlx::query(
        "INSERT INTO alerts (dedupe_key, rule_id, rule_name, severity, group_key, first_seen_us, \
         last_seen_us, event_ids, services, summary, created_at_us, updated_at_us) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?11) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(&alert.dedupe_key)
    .bind(&alert.rule_id)
    .bind(&alert.rule_name)
    .bind(&alert.severity)
    .bind(alert.group_key.as_deref())
    .bind(micros(alert.first_seen))
    .bind(micros(alert.last_seen))
    .bind(to_json(&alert.event_ids)?)
    .bind(to_json(&alert.services)?)
    .bind(&alert.summary)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    // Read back on the writer: whether new or already there, the row is committed (or ours).
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE dedupe_key = ?");
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(&alert.dedupe_key)
        .fetch_one(&mut *conn)
        .await?;
    Ok((map::alert(&row)?, inserted.rows_affected() > 0))
}

/// Replace the tags of each (event id, tags) in one transaction; how many events changed.
pub(super) async fn set_tags_many(
    writer: &SqlitePool,
    tags: &[(String, Vec<String>)],
) -> StoreResult<u64> {
    if tags.is_empty() {
        return Ok(0);
    }
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    let changed = set_tags_on(&mut tx, tags).await?;
    tx.commit().await?;
    Ok(changed)
}

async fn set_tags_on(
    conn: &mut SqliteConnection,
    tags: &[(String, Vec<String>)],
) -> StoreResult<u64> {
    let mut changed = 0;
    for (id, tags) in tags {
        changed += sqlx::query("UPDATE events SET tags = ? WHERE id = ?")
            .bind(to_json(tags)?)
            .bind(id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(changed)
}

pub(super) async fn write_evaluation(
    writer: &SqlitePool,
    matches: &[RuleMatch],
    alerts: &[NewAlert],
    tags: &[(String, Vec<String>)],
) -> StoreResult<Vec<(Alert, bool)>> {
    if matches.is_empty() && alerts.is_empty() && tags.is_empty() {
        return Ok(Vec::new());
    }
    let now = micros(Utc::now());
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    record_on(&mut tx, matches).await?;
    let mut raised = Vec::with_capacity(alerts.len());
    for alert in alerts {
        raised.push(raise_on(&mut tx, alert, now).await?);
    }
    set_tags_on(&mut tx, tags).await?;
    tx.commit().await?;
    Ok(raised)
}

pub(super) async fn get_alert(reader: &SqlitePool, id: i64) -> StoreResult<Option<Alert>> {
    let sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ?");
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(reader)
        .await?;
    found.as_ref().map(map::alert).transpose()
}

pub(super) async fn list_alerts(
    reader: &SqlitePool,
    query: &AlertQuery,
) -> StoreResult<Vec<Alert>> {
    // Only the filters given become conditions, so each can use its index.
    let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id < ?");
    for (given, condition) in [
        (query.status.is_some(), " AND status = ?"),
        (query.severity.is_some(), " AND severity = ?"),
        (query.rule_id.is_some(), " AND rule_id = ?"),
        (query.since.is_some(), " AND created_at_us >= ?"),
        (query.until.is_some(), " AND created_at_us <= ?"),
    ] {
        if given {
            sql.push_str(condition);
        }
    }
    sql.push_str(" ORDER BY id DESC LIMIT ?");
    let mut select = sqlx::query(AssertSqlSafe(sql)).bind(query.before_id.unwrap_or(i64::MAX));
    for text in [&query.status, &query.severity, &query.rule_id]
        .into_iter()
        .flatten()
    {
        select = select.bind(text.as_str());
    }
    for at in [query.since, query.until].into_iter().flatten() {
        select = select.bind(micros(at));
    }
    let found = select.bind(limit(query.limit)).fetch_all(reader).await?;
    found.iter().map(map::alert).collect()
}

pub(super) async fn update_alert(
    writer: &SqlitePool,
    id: i64,
    status: &str,
    by: &str,
    note: Option<&str>,
) -> StoreResult<Option<Alert>> {
    let sql = format!(
        "UPDATE alerts SET status = ?, updated_by = ?, note = ?, updated_at_us = ? \
         WHERE id = ? RETURNING {ALERT_COLUMNS}"
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(status)
        .bind(by)
        .bind(note)
        .bind(micros(Utc::now()))
        .bind(id)
        .fetch_optional(writer)
        .await?;
    found.as_ref().map(map::alert).transpose()
}

pub(super) async fn alert_counts(reader: &SqlitePool) -> StoreResult<Vec<AlertCount>> {
    let found = sqlx::query(
        "SELECT rule_id, severity, status, count(*) AS count FROM alerts \
         GROUP BY rule_id, severity, status ORDER BY rule_id, severity, status",
    )
    .fetch_all(reader)
    .await?;
    found.iter().map(map::alert_count).collect()
}

// --- Saved searches

pub(super) async fn list_saved_searches(
    reader: &SqlitePool,
    owner: &str,
) -> StoreResult<Vec<SavedSearch>> {
    let sql = format!(
        "SELECT {SEARCH_COLUMNS} FROM saved_searches WHERE owner = ? OR shared <> 0 \
         ORDER BY name, id"
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(owner)
        .fetch_all(reader)
        .await?;
    found.iter().map(map::saved_search).collect()
}

pub(super) async fn get_saved_search(
    reader: &SqlitePool,
    id: &str,
) -> StoreResult<Option<SavedSearch>> {
    let sql = format!("SELECT {SEARCH_COLUMNS} FROM saved_searches WHERE id = ?");
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(reader)
        .await?;
    found.as_ref().map(map::saved_search).transpose()
}

pub(super) async fn put_saved_search(
    writer: &SqlitePool,
    search: &SavedSearch,
) -> StoreResult<SavedSearch> {
    let sql = format!(
        "INSERT INTO saved_searches (id, owner, name, shared, filters, created_at_us, \
         updated_at_us) VALUES (?, ?, ?, ?, ?, ?, ?) \
         ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, name = excluded.name, \
         shared = excluded.shared, filters = excluded.filters, \
         updated_at_us = excluded.updated_at_us RETURNING {SEARCH_COLUMNS}"
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(&search.id)
        .bind(&search.owner)
        .bind(&search.name)
        .bind(i64::from(search.shared))
        .bind(to_json(&search.filters)?)
        .bind(micros(search.created_at))
        .bind(micros(search.updated_at))
        .fetch_one(writer)
        .await?;
    map::saved_search(&row)
}

pub(super) async fn delete_saved_search(writer: &SqlitePool, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM saved_searches WHERE id = ?")
        .bind(id)
        .execute(writer)
        .await?;
    Ok(done.rows_affected() > 0)
}

// --- Outbox

pub(super) async fn enqueue_outbox(
    writer: &SqlitePool,
    items: &[NewOutboxItem],
) -> StoreResult<u64> {
    if items.is_empty() {
        return Ok(0);
    }
    let now = micros(Utc::now());
    let mut new = 0;
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    for item in items {
        let done = sqlx::query(
            "INSERT INTO outbox (channel, dedupe_key, payload, next_attempt_at_us, \
             created_at_us) VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .bind(&item.channel)
        .bind(&item.dedupe_key)
        .bind(to_json(&item.payload)?)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        new += done.rows_affected();
    }
    tx.commit().await?;
    Ok(new)
}

pub(super) async fn due_outbox(
    reader: &SqlitePool,
    now: DateTime<Utc>,
    max: u32,
) -> StoreResult<Vec<OutboxItem>> {
    let sql = format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox \
         WHERE delivered_at_us IS NULL AND next_attempt_at_us <= ? ORDER BY id LIMIT ?"
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(micros(now))
        .bind(limit(max))
        .fetch_all(reader)
        .await?;
    found.iter().map(map::outbox_item).collect()
}

pub(super) async fn outbox_delivered(
    writer: &SqlitePool,
    id: i64,
    at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query("UPDATE outbox SET delivered_at_us = ? WHERE id = ?")
        .bind(micros(at))
        .bind(id)
        .execute(writer)
        .await?;
    Ok(())
}

pub(super) async fn outbox_failed(
    writer: &SqlitePool,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = ?, failed_at_us = ?, \
         next_attempt_at_us = ? WHERE id = ?",
    )
    .bind(error)
    .bind(micros(Utc::now()))
    .bind(micros(retry_at))
    .bind(id)
    .execute(writer)
    .await?;
    Ok(())
}

pub(super) async fn outbox_status(reader: &SqlitePool) -> StoreResult<Vec<OutboxStatus>> {
    let found = sqlx::query(
        "SELECT channel, \
         sum(delivered_at_us IS NULL) AS pending, \
         sum(delivered_at_us IS NOT NULL) AS delivered, \
         max(delivered_at_us) AS last_delivered_at_us, \
         (SELECT f.last_error FROM outbox f WHERE f.channel = o.channel \
          AND f.delivered_at_us IS NULL AND f.failed_at_us IS NOT NULL \
          ORDER BY f.failed_at_us DESC, f.id DESC LIMIT 1) AS last_error \
         FROM outbox o GROUP BY channel ORDER BY channel",
    )
    .fetch_all(reader)
    .await?;
    found.iter().map(map::outbox_status).collect()
}
