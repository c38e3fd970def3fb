//! Embedded migrations. The files under `migrations/` are compiled in with `include_str!` and
//! run through sqlx's migrator (same `_sqlx_migrations` table and checksums as
//! `sqlx::migrate!` or the sqlx CLI would use), without needing sqlx's proc-macro feature.

use std::borrow::Cow;

use sqlx::AssertSqlSafe;
use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// (version, description, SQL) in version order.
type Script = (i64, &'static str, &'static str);

const SQLITE: &[Script] = &[
    (
        1,
        "initial",
        include_str!("../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "activity",
        include_str!("../migrations/sqlite/0002_activity.sql"),
    ),
    (
        3,
        "outcomes",
        include_str!("../migrations/sqlite/0003_outcomes.sql"),
    ),
    (
        4,
        "event sequence",
        include_str!("../migrations/sqlite/0004_event_sequence.sql"),
    ),
    (
        5,
        "alerting",
        include_str!("../migrations/sqlite/0005_alerting.sql"),
    ),
    (
        6,
        "jobs",
        include_str!("../migrations/sqlite/0006_jobs.sql"),
    ),
];

const POSTGRES: &[Script] = &[
    (
        1,
        "initial",
        include_str!("../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "activity",
        include_str!("../migrations/postgres/0002_activity.sql"),
    ),
    (
        3,
        "outcomes",
        include_str!("../migrations/postgres/0003_outcomes.sql"),
    ),
    (
        4,
        "event sequence",
        include_str!("../migrations/postgres/0004_event_sequence.sql"),
    ),
    (
        5,
        "alerting",
        include_str!("../migrations/postgres/0005_alerting.sql"),
    ),
    (
        6,
        "jobs",
        include_str!("../migrations/postgres/0006_jobs.sql"),
    ),
    (
        7,
        "lz4 toast",
        include_str!("../migrations/postgres/0007_lz4_toast.sql"),
    ),
];

fn migrator(scripts: &[Script]) -> Migrator {
    Migrator::with_migrations(
        scripts
            .iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    *version,
                    Cow::Borrowed(*description),
                    MigrationType::Simple,
                    AssertSqlSafe(*sql).into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(crate) fn sqlite() -> Migrator {
    migrator(SQLITE)
}

pub(crate) fn postgres() -> Migrator {
    migrator(POSTGRES)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use sqlx::Row;

    /// A fresh schema in the test database (PostgreSQL runs shared tests side by side), with
    /// the admin pool that drops it afterwards; None when no PostgreSQL is configured.
    async fn scratch_schema(prefix: &str) -> Option<(String, sqlx::PgPool, String)> {
        let Ok(base) = std::env::var("AOC_TEST_POSTGRES_URL") else {
            eprintln!("skipped PostgreSQL: AOC_TEST_POSTGRES_URL is not set");
            return None;
        };
        let admin = sqlx::PgPool::connect(&base).await.unwrap();
        let schema = format!("{prefix}_{}", std::process::id());
        let _ = sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public")
            .execute(&admin)
            .await;
        sqlx::query(AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&admin)
        .await
        .unwrap();
        sqlx::query(AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await
            .unwrap();
        Some((base, admin, schema))
    }

    /// (stored before 0003, result after, result_detail after)
    const RESULTS: [(&str, &str, &str); 8] = [
        ("True", "success", "True"),
        ("Succeeded", "success", "Succeeded"),
        ("False", "failure", "False"),
        ("Failed", "failure", "Failed"),
        ("timeout", "failure", "timeout"),
        ("PartiallySucceeded", "partial", "PartiallySucceeded"),
        ("", "unknown", ""),
        ("Weird", "unknown", "Weird"),
    ];

    #[tokio::test]
    async fn sqlite_rows_stored_before_outcomes_get_the_vocabulary() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("old.db").display());
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        migrator(&SQLITE[..2]).run(&pool).await.unwrap();
        for (i, (result, _, _)) in RESULTS.iter().enumerate() {
            sqlx::query(
                "INSERT INTO events (id, dedupe_key, source, ts, service, operation, result, \
                 actor_display, target_displays, display_summary, search_short) \
                 VALUES (?, ?, 'unified', 0, 'Exchange', 'Set-Mailbox', ?, 'a', '[]', 's', 's')",
            )
            .bind(format!("e{i}"))
            .bind(format!("k{i}"))
            .bind(*result)
            .execute(&pool)
            .await
            .unwrap();
        }
        sqlite().run(&pool).await.unwrap();
        for (i, (_, result, detail)) in RESULTS.iter().enumerate() {
            let row = sqlx::query("SELECT result, result_detail FROM events WHERE id = ?")
                .bind(format!("e{i}"))
                .fetch_one(&pool)
                .await
                .unwrap();
            let got: (String, String) = (row.get(0), row.get(1));
            assert_eq!(got, ((*result).to_owned(), (*detail).to_owned()), "e{i}");
        }
    }

    #[tokio::test]
    async fn postgres_rows_stored_before_outcomes_get_the_vocabulary() {
        let Some((base, admin, schema)) = scratch_schema("aoc_migrate").await else {
            return;
        };
        let search_path = format!("SET search_path TO {schema}, public");
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .after_connect(move |conn, _| {
                let sql = search_path.clone();
                Box::pin(async move {
                    sqlx::query(AssertSqlSafe(sql)).execute(conn).await?;
                    Ok(())
                })
            })
            .connect(&base)
            .await
            .unwrap();
        migrator(&POSTGRES[..2]).run(&pool).await.unwrap();
        for (i, (result, _, _)) in RESULTS.iter().enumerate() {
            sqlx::query(
                "INSERT INTO events (id, dedupe_key, source, ts, service, operation, result, \
                 actor_display, actor, target_displays, targets, display_summary, raw, \
                 search_short, raw_words) \
                 VALUES ($1, $2, 'unified', now(), 'Exchange', 'Set-Mailbox', $3, 'a', '{}', \
                 '[]', '[]', 's', '{}', 's', '')",
            )
            .bind(format!("e{i}"))
            .bind(format!("k{i}"))
            .bind(*result)
            .execute(&pool)
            .await
            .unwrap();
        }
        postgres().run(&pool).await.unwrap();
        for (i, (_, result, detail)) in RESULTS.iter().enumerate() {
            let row = sqlx::query("SELECT result, result_detail FROM events WHERE id = $1")
                .bind(format!("e{i}"))
                .fetch_one(&pool)
                .await
                .unwrap();
            let got: (String, String) = (row.get(0), row.get(1));
            assert_eq!(got, ((*result).to_owned(), (*detail).to_owned()), "e{i}");
        }
        pool.close().await;
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&admin)
            .await
            .unwrap();
    }

    /// Rows stored before 0004 get positions (oldest first, all before any later insert) and
    /// reach a consumer reading from the start.
    #[tokio::test]
    async fn postgres_rows_stored_before_the_sequence_get_positions() {
        use crate::EventStore;
        let Some((base, admin, schema)) = scratch_schema("aoc_migrate_seq").await else {
            return;
        };
        let options: sqlx::postgres::PgConnectOptions = base.parse().unwrap();
        let options = options.options([("search_path", format!("{schema},public"))]);
        let pool = sqlx::PgPool::connect_with(options.clone()).await.unwrap();
        migrator(&POSTGRES[..3]).run(&pool).await.unwrap();
        // Stored out of time order: positions follow (ts, id).
        for (id, minute) in [("old-b", 2), ("old-a", 1), ("old-c", 3)] {
            sqlx::query(
                "INSERT INTO events (id, dedupe_key, source, ts, service, operation, result, \
                 actor_display, actor, target_displays, targets, display_summary, raw, \
                 search_short, raw_words) \
                 VALUES ($1, $1, 'unified', '2026-01-01T00:00:00Z'::timestamptz \
                 + $2 * interval '1 minute', 'Exchange', 'Set-Mailbox', 'success', 'a', '{}', \
                 '[]', '[]', 's', '{}', 's', '')",
            )
            .bind(id)
            .bind(f64::from(minute))
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;
        let store = crate::PgStore::connect_with(options, 2).await.unwrap();
        let fresh = aoc_domain::Event {
            id: "new".into(),
            source: aoc_domain::Source::Unified,
            timestamp: chrono::DateTime::UNIX_EPOCH,
            service: "Exchange".into(),
            operation: "Set-Mailbox".into(),
            result: "success".into(),
            result_detail: String::new(),
            actor_display: "a".into(),
            actor: serde_json::json!({}),
            target_displays: Vec::new(),
            targets: Vec::new(),
            display_summary: "s".into(),
            dedupe_key: "new".into(),
            raw: serde_json::json!({}),
            tags: Vec::new(),
            comments: Vec::new(),
        };
        store.insert_batch(&[fresh]).await.unwrap();
        let batch = store.events_after(None, 10).await.unwrap();
        let ids: Vec<&str> = batch.events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["old-a", "old-b", "old-c", "new"]);
        store.pool().close().await;
        sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
            .execute(&admin)
            .await
            .unwrap();
    }

    #[test]
    fn the_migration_knows_every_spelling_the_domain_knows() {
        let sql = include_str!("../migrations/sqlite/0003_outcomes.sql");
        for spelling in [
            "success",
            "succeeded",
            "successful",
            "true",
            "failure",
            "failed",
            "fail",
            "false",
            "timeout",
            "partial",
            "partiallysucceeded",
            "partialsuccess",
        ] {
            let outcome = aoc_domain::Outcome::parse(spelling).unwrap();
            assert!(
                sql.contains(&format!("WHEN '{spelling}' THEN '{}'", outcome.as_str())),
                "{spelling}"
            );
        }
    }
}
