//! Alerting on PostgreSQL (migration 0005): rules, rule matches, alerts, saved searches and the
//! outbox. Several replicas may write at once: every "only if absent" is one
//! `INSERT .. ON CONFLICT DO NOTHING`, which waits for a concurrent insert of the same key to
//! commit or abort before deciding, so exactly one of them inserts.

use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::AssertSqlSafe;
use sqlx::postgres::{PgConnection, PgPool};

use super::encode::{pg_json, pg_text, time_text};
use super::micros_of;
use crate::StoreResult;
use crate::alerting::{
    Alert, AlertCount, AlertQuery, GroupSpan, NewAlert, NewOutboxItem, OutboxItem, OutboxStatus,
    RuleMatch, SavedSearch, StoredRule,
};
use crate::codec::to_json;
use crate::rows::alerting as map;

/// JSON text a JSONB column accepts.
fn jsonb(value: &Value) -> StoreResult<String> {
    pg_json(&to_json(value)?, value)
}

/// A list of strings as JSON text a JSONB column accepts.
fn jsonb_list(items: &[String]) -> StoreResult<String> {
    to_json(&items.iter().map(|s| pg_text(s)).collect::<Vec<_>>())
}

fn rule_columns() -> String {
    format!(
        "id, definition::text AS definition, {} AS created_at_us, {} AS updated_at_us",
        micros_of("created_at"),
        micros_of("updated_at")
    )
}

fn alert_columns() -> String {
    format!(
        "id, rule_id, rule_name, severity, dedupe_key, group_key, {} AS first_seen_us, \
         {} AS last_seen_us, event_ids::text AS event_ids, services::text AS services, summary, \
         status, {} AS created_at_us, {} AS updated_at_us, updated_by, note",
        micros_of("first_seen"),
        micros_of("last_seen"),
        micros_of("created_at"),
        micros_of("updated_at")
    )
}

fn search_columns() -> String {
    format!(
        "id, owner, name, shared::int4::int8 AS shared, filters::text AS filters, \
         {} AS created_at_us, {} AS updated_at_us",
        micros_of("created_at"),
        micros_of("updated_at")
    )
}

fn outbox_columns() -> String {
    format!(
        "id, channel, dedupe_key, payload::text AS payload, attempts::int8 AS attempts, \
         {} AS next_attempt_at_us, last_error, {} AS delivered_at_us, {} AS created_at_us",
        micros_of("next_attempt_at"),
        micros_of("delivered_at"),
        micros_of("created_at")
    )
}

fn limit(n: u32) -> i64 {
    i64::from(n)
}

fn count(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

// --- Rules

pub(super) async fn list_rules(pool: &PgPool) -> StoreResult<Vec<StoredRule>> {
    let sql = format!("SELECT {} FROM rules ORDER BY id", rule_columns());
    let found = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await?;
    found.iter().map(map::rule).collect()
}

pub(super) async fn get_rule(pool: &PgPool, id: &str) -> StoreResult<Option<StoredRule>> {
    let sql = format!("SELECT {} FROM rules WHERE id = $1", rule_columns());
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(id))
        .fetch_optional(pool)
        .await?;
    found.as_ref().map(map::rule).transpose()
}

pub(super) async fn put_rule(
    pool: &PgPool,
    id: &str,
    definition: &Value,
) -> StoreResult<StoredRule> {
    let sql = format!(
        "INSERT INTO rules (id, definition, created_at, updated_at) \
         VALUES ($1, $2::jsonb, $3::timestamptz, $3::timestamptz) \
         ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, \
         updated_at = excluded.updated_at RETURNING {}",
        rule_columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(id))
        .bind(jsonb(definition)?)
        .bind(time_text(Utc::now()))
        .fetch_one(pool)
        .await?;
    map::rule(&row)
}

pub(super) async fn insert_rule_if_absent(
    pool: &PgPool,
    id: &str,
    definition: &Value,
) -> StoreResult<bool> {
    let done = sqlx::query(
        "INSERT INTO rules (id, definition, created_at, updated_at) \
         VALUES ($1, $2::jsonb, $3::timestamptz, $3::timestamptz) ON CONFLICT (id) DO NOTHING",
    )
    .bind(pg_text(id))
    .bind(jsonb(definition)?)
    .bind(time_text(Utc::now()))
    .execute(pool)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub(super) async fn delete_rule(pool: &PgPool, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM rules WHERE id = $1")
        .bind(pg_text(id))
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

// --- Rule matches

pub(super) async fn record_rule_matches(pool: &PgPool, matches: &[RuleMatch]) -> StoreResult<()> {
    if matches.is_empty() {
        return Ok(());
    }
    let mut conn = pool.acquire().await?;
    record_on(&mut conn, matches).await
}

async fn record_on(conn: &mut PgConnection, matches: &[RuleMatch]) -> StoreResult<()> {
    if matches.is_empty() {
        return Ok(());
    }
    let mut rule_ids = Vec::with_capacity(matches.len());
    let mut group_keys = Vec::with_capacity(matches.len());
    let mut event_ids = Vec::with_capacity(matches.len());
    let mut occurred = Vec::with_capacity(matches.len());
    for m in matches {
        rule_ids.push(pg_text(&m.rule_id));
        group_keys.push(pg_text(&m.group_key));
        event_ids.push(pg_text(&m.event_id));
        occurred.push(time_text(m.occurred_at));
    }
    // DO NOTHING also absorbs a (rule, event) repeated within the batch.
    sqlx::query(
        "INSERT INTO rule_matches (rule_id, group_key, event_id, occurred_at) \
         SELECT r, g, e, o::timestamptz \
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[]) AS m(r, g, e, o) \
         ON CONFLICT (rule_id, event_id) DO NOTHING",
    )
    .bind(rule_ids)
    .bind(group_keys)
    .bind(event_ids)
    .bind(occurred)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn rule_matches_in(
    pool: &PgPool,
    rule_id: &str,
    group_key: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    max: u32,
) -> StoreResult<(u64, Vec<(String, DateTime<Utc>)>)> {
    // One statement, so the count and the matches come from the same snapshot.
    let at = micros_of("occurred_at");
    let (total, ids, times): (i64, Vec<String>, Vec<i64>) = sqlx::query_as(AssertSqlSafe(format!(
        "WITH w AS (SELECT event_id, occurred_at FROM rule_matches \
         WHERE rule_id = $1 AND group_key = $2 \
         AND occurred_at BETWEEN $3::timestamptz AND $4::timestamptz), \
         f AS (SELECT event_id, occurred_at FROM w ORDER BY occurred_at, event_id LIMIT $5) \
         SELECT (SELECT count(*) FROM w), \
         coalesce((SELECT array_agg(event_id ORDER BY occurred_at, event_id) FROM f), '{{}}'), \
         coalesce((SELECT array_agg({at} ORDER BY occurred_at, event_id) FROM f), '{{}}')"
    )))
    .bind(pg_text(rule_id))
    .bind(pg_text(group_key))
    .bind(time_text(from))
    .bind(time_text(to))
    .bind(limit(max))
    .fetch_one(pool)
    .await?;
    Ok((count(total), map::rule_matches(ids.into_iter().zip(times))?))
}

pub(super) async fn rule_match_counts(
    pool: &PgPool,
    rule_id: &str,
    spans: &[GroupSpan],
) -> StoreResult<Vec<u64>> {
    if spans.is_empty() {
        return Ok(Vec::new());
    }
    let groups: Vec<String> = spans.iter().map(|s| pg_text(&s.group_key)).collect();
    let froms: Vec<String> = spans.iter().map(|s| time_text(s.from)).collect();
    let tos: Vec<String> = spans.iter().map(|s| time_text(s.to)).collect();
    // Each span is counted on the (rule_id, group_key, occurred_at) index.
    let counts: Vec<i64> = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM rule_matches m WHERE m.rule_id = $1 AND m.group_key = s.g \
         AND m.occurred_at BETWEEN s.lo::timestamptz AND s.hi::timestamptz) \
         FROM UNNEST($2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS s(g, lo, hi, n) \
         ORDER BY s.n",
    )
    .bind(pg_text(rule_id))
    .bind(groups)
    .bind(froms)
    .bind(tos)
    .fetch_all(pool)
    .await?;
    Ok(counts.into_iter().map(count).collect())
}

pub(super) async fn prune_rule_matches(pool: &PgPool, cutoff: DateTime<Utc>) -> StoreResult<u64> {
    let done = sqlx::query("DELETE FROM rule_matches WHERE occurred_at < $1::timestamptz")
        .bind(time_text(cutoff))
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}

// --- Alerts

pub(super) async fn raise_alert(pool: &PgPool, alert: &NewAlert) -> StoreResult<(Alert, bool)> {
    let mut conn = pool.acquire().await?;
    raise_on(&mut conn, alert, Utc::now()).await
}

/// [`raise_alert`] for each of `alerts`, in one transaction: one WAL flush for a consumer
/// batch's alerts instead of one each. Inserted in dedupe-key order, so two replicas raising
/// overlapping sets wait for each other instead of deadlocking; returned in the order given.
pub(super) async fn raise_alerts(
    pool: &PgPool,
    alerts: &[NewAlert],
) -> StoreResult<Vec<(Alert, bool)>> {
    if alerts.is_empty() {
        return Ok(Vec::new());
    }
    let mut order: Vec<usize> = (0..alerts.len()).collect();
    order.sort_by(|a, b| alerts[*a].dedupe_key.cmp(&alerts[*b].dedupe_key));
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    let mut raised: Vec<Option<(Alert, bool)>> = vec![None; alerts.len()];
    for i in order {
        raised[i] = Some(raise_on(&mut tx, &alerts[i], now).await?);
    }
    tx.commit().await?;
    Ok(raised.into_iter().flatten().collect())
}

async fn raise_on(
    conn: &mut PgConnection,
    alert: &NewAlert,
    now: DateTime<Utc>,
) -> StoreResult<(Alert, bool)> {
    let inserted = sqlx::query(
        "INSERT INTO alerts (dedupe_key, rule_id, rule_name, severity, group_key, first_seen, \
         last_seen, event_ids, services, summary, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6::timestamptz, $7::timestamptz, $8::jsonb, $9::jsonb, \
         $10, $11::timestamptz, $11::timestamptz) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(pg_text(&alert.dedupe_key))
    .bind(pg_text(&alert.rule_id))
    .bind(pg_text(&alert.rule_name))
    .bind(pg_text(&alert.severity))
    .bind(alert.group_key.as_deref().map(pg_text))
    .bind(time_text(alert.first_seen))
    .bind(time_text(alert.last_seen))
    .bind(jsonb_list(&alert.event_ids)?)
    .bind(jsonb_list(&alert.services)?)
    .bind(pg_text(&alert.summary))
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    // A separate statement sees the row whoever inserted it: when the insert above found the
    // key taken, the inserting transaction had committed (ON CONFLICT waits for it), and read
    // committed gives each statement a fresh snapshot, inside a transaction too.
    let sql = format!(
        "SELECT {} FROM alerts WHERE dedupe_key = $1",
        alert_columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(&alert.dedupe_key))
        .fetch_one(&mut *conn)
        .await?;
    Ok((map::alert(&row)?, inserted.rows_affected() > 0))
}

/// Replace the tags of each (event id, tags) in one transaction, in id order (no deadlock
/// with another replica tagging the same events); how many events changed.
pub(super) async fn set_tags_many(
    pool: &PgPool,
    tags: &[(String, Vec<String>)],
) -> StoreResult<u64> {
    if tags.is_empty() {
        return Ok(0);
    }
    let mut tx = pool.begin().await?;
    let changed = set_tags_on(&mut tx, tags).await?;
    tx.commit().await?;
    Ok(changed)
}

/// In id order, so two transactions tagging the same events wait for each other instead of
/// deadlocking.
async fn set_tags_on(conn: &mut PgConnection, tags: &[(String, Vec<String>)]) -> StoreResult<u64> {
    let mut sorted: Vec<&(String, Vec<String>)> = tags.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut changed = 0;
    for (id, tags) in sorted {
        let tags: Vec<String> = tags.iter().map(|t| pg_text(t)).collect();
        changed += sqlx::query("UPDATE events SET tags = $1::jsonb WHERE id = $2")
            .bind(to_json(&tags)?)
            .bind(pg_text(id))
            .execute(&mut *conn)
            .await?
            .rows_affected();
    }
    Ok(changed)
}

pub(super) async fn write_evaluation(
    pool: &PgPool,
    matches: &[RuleMatch],
    alerts: &[NewAlert],
    tags: &[(String, Vec<String>)],
) -> StoreResult<Vec<(Alert, bool)>> {
    if matches.is_empty() && alerts.is_empty() && tags.is_empty() {
        return Ok(Vec::new());
    }
    let mut order: Vec<usize> = (0..alerts.len()).collect();
    order.sort_by(|a, b| alerts[*a].dedupe_key.cmp(&alerts[*b].dedupe_key));
    let now = Utc::now();
    let mut tx = pool.begin().await?;
    record_on(&mut tx, matches).await?;
    let mut raised: Vec<Option<(Alert, bool)>> = vec![None; alerts.len()];
    for i in order {
        raised[i] = Some(raise_on(&mut tx, &alerts[i], now).await?);
    }
    set_tags_on(&mut tx, tags).await?;
    tx.commit().await?;
    Ok(raised.into_iter().flatten().collect())
}

pub(super) async fn get_alert(pool: &PgPool, id: i64) -> StoreResult<Option<Alert>> {
    let sql = format!("SELECT {} FROM alerts WHERE id = $1", alert_columns());
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    found.as_ref().map(map::alert).transpose()
}

pub(super) async fn list_alerts(pool: &PgPool, query: &AlertQuery) -> StoreResult<Vec<Alert>> {
    // Only the filters given become conditions, so each can use its index.
    let mut sql = format!("SELECT {} FROM alerts WHERE id < $1", alert_columns());
    let mut n = 1;
    for (given, condition) in [
        (query.status.is_some(), "status = $"),
        (query.severity.is_some(), "severity = $"),
        (query.rule_id.is_some(), "rule_id = $"),
        (query.since.is_some(), "created_at >= $"),
        (query.until.is_some(), "created_at <= $"),
    ] {
        if given {
            n += 1;
            sql.push_str(&format!(" AND {condition}{n}"));
            if condition.starts_with("created_at") {
                sql.push_str("::timestamptz");
            }
        }
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
    let mut select = sqlx::query(AssertSqlSafe(sql)).bind(query.before_id.unwrap_or(i64::MAX));
    for text in [&query.status, &query.severity, &query.rule_id]
        .into_iter()
        .flatten()
    {
        select = select.bind(pg_text(text));
    }
    for at in [query.since, query.until].into_iter().flatten() {
        select = select.bind(time_text(at));
    }
    let found = select.bind(limit(query.limit)).fetch_all(pool).await?;
    found.iter().map(map::alert).collect()
}

pub(super) async fn update_alert(
    pool: &PgPool,
    id: i64,
    status: &str,
    by: &str,
    note: Option<&str>,
) -> StoreResult<Option<Alert>> {
    let sql = format!(
        "UPDATE alerts SET status = $1, updated_by = $2, note = $3, \
         updated_at = $4::timestamptz WHERE id = $5 RETURNING {}",
        alert_columns()
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(status))
        .bind(pg_text(by))
        .bind(note.map(pg_text))
        .bind(time_text(Utc::now()))
        .bind(id)
        .fetch_optional(pool)
        .await?;
    found.as_ref().map(map::alert).transpose()
}

pub(super) async fn alert_counts(pool: &PgPool) -> StoreResult<Vec<AlertCount>> {
    let found = sqlx::query(
        "SELECT rule_id, severity, status, count(*) AS count FROM alerts \
         GROUP BY rule_id, severity, status ORDER BY rule_id, severity, status",
    )
    .fetch_all(pool)
    .await?;
    found.iter().map(map::alert_count).collect()
}

// --- Saved searches

pub(super) async fn list_saved_searches(
    pool: &PgPool,
    owner: &str,
) -> StoreResult<Vec<SavedSearch>> {
    let sql = format!(
        "SELECT {} FROM saved_searches WHERE owner = $1 OR shared ORDER BY name, id",
        search_columns()
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(owner))
        .fetch_all(pool)
        .await?;
    found.iter().map(map::saved_search).collect()
}

pub(super) async fn get_saved_search(pool: &PgPool, id: &str) -> StoreResult<Option<SavedSearch>> {
    let sql = format!(
        "SELECT {} FROM saved_searches WHERE id = $1",
        search_columns()
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(id))
        .fetch_optional(pool)
        .await?;
    found.as_ref().map(map::saved_search).transpose()
}

pub(super) async fn put_saved_search(
    pool: &PgPool,
    search: &SavedSearch,
) -> StoreResult<SavedSearch> {
    let sql = format!(
        "INSERT INTO saved_searches (id, owner, name, shared, filters, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5::jsonb, $6::timestamptz, $7::timestamptz) \
         ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, name = excluded.name, \
         shared = excluded.shared, filters = excluded.filters, \
         updated_at = excluded.updated_at RETURNING {}",
        search_columns()
    );
    let row = sqlx::query(AssertSqlSafe(sql))
        .bind(pg_text(&search.id))
        .bind(pg_text(&search.owner))
        .bind(pg_text(&search.name))
        .bind(search.shared)
        .bind(jsonb(&search.filters)?)
        .bind(time_text(search.created_at))
        .bind(time_text(search.updated_at))
        .fetch_one(pool)
        .await?;
    map::saved_search(&row)
}

pub(super) async fn delete_saved_search(pool: &PgPool, id: &str) -> StoreResult<bool> {
    let done = sqlx::query("DELETE FROM saved_searches WHERE id = $1")
        .bind(pg_text(id))
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

// --- Outbox

pub(super) async fn enqueue_outbox(pool: &PgPool, items: &[NewOutboxItem]) -> StoreResult<u64> {
    if items.is_empty() {
        return Ok(0);
    }
    let mut channels = Vec::with_capacity(items.len());
    let mut keys = Vec::with_capacity(items.len());
    let mut payloads = Vec::with_capacity(items.len());
    for item in items {
        channels.push(pg_text(&item.channel));
        keys.push(pg_text(&item.dedupe_key));
        payloads.push(jsonb(&item.payload)?);
    }
    // WITH ORDINALITY keeps the ids in the caller's order.
    let done = sqlx::query(
        "INSERT INTO outbox (channel, dedupe_key, payload, next_attempt_at, created_at) \
         SELECT c, k, p::jsonb, $4::timestamptz, $4::timestamptz \
         FROM UNNEST($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS i(c, k, p, n) \
         ORDER BY n ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(channels)
    .bind(keys)
    .bind(payloads)
    .bind(time_text(Utc::now()))
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

pub(super) async fn due_outbox(
    pool: &PgPool,
    now: DateTime<Utc>,
    max: u32,
) -> StoreResult<Vec<OutboxItem>> {
    let sql = format!(
        "SELECT {} FROM outbox WHERE delivered_at IS NULL \
         AND next_attempt_at <= $1::timestamptz ORDER BY id LIMIT $2",
        outbox_columns()
    );
    let found = sqlx::query(AssertSqlSafe(sql))
        .bind(time_text(now))
        .bind(limit(max))
        .fetch_all(pool)
        .await?;
    found.iter().map(map::outbox_item).collect()
}

pub(super) async fn outbox_delivered(pool: &PgPool, id: i64, at: DateTime<Utc>) -> StoreResult<()> {
    sqlx::query("UPDATE outbox SET delivered_at = $1::timestamptz WHERE id = $2")
        .bind(time_text(at))
        .bind(id)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn outbox_failed(
    pool: &PgPool,
    id: i64,
    error: &str,
    retry_at: DateTime<Utc>,
) -> StoreResult<()> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $1, \
         failed_at = $2::timestamptz, next_attempt_at = $3::timestamptz WHERE id = $4",
    )
    .bind(pg_text(error))
    .bind(time_text(Utc::now()))
    .bind(time_text(retry_at))
    .bind(id)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn outbox_status(pool: &PgPool) -> StoreResult<Vec<OutboxStatus>> {
    let sql = format!(
        "SELECT channel, \
         count(*) FILTER (WHERE delivered_at IS NULL) AS pending, \
         count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered, \
         {} AS last_delivered_at_us, \
         (SELECT f.last_error FROM outbox f WHERE f.channel = o.channel \
          AND f.delivered_at IS NULL AND f.failed_at IS NOT NULL \
          ORDER BY f.failed_at DESC, f.id DESC LIMIT 1) AS last_error \
         FROM outbox o GROUP BY channel ORDER BY channel",
        micros_of("max(delivered_at)")
    );
    let found = sqlx::query(AssertSqlSafe(sql)).fetch_all(pool).await?;
    found.iter().map(map::outbox_status).collect()
}
