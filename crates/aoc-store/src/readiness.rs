//! Whether the database's schema is the one this build expects, for `/ready`: a database
//! restored from an old backup, or migrated by an older release after start-up, is not.

use std::collections::HashSet;

use sqlx::migrate::Migrator;
use sqlx::postgres::PgPool;
use sqlx::sqlite::SqlitePool;

use crate::StoreResult;

/// Migrations `migrator` holds that are not among `applied` (successful versions).
fn missing(migrator: &Migrator, applied: &[i64]) -> u64 {
    let applied: HashSet<i64> = applied.iter().copied().collect();
    let missing = migrator
        .iter()
        .filter(|m| !applied.contains(&m.version))
        .count();
    u64::try_from(missing).unwrap_or(u64::MAX)
}

const APPLIED: &str = "SELECT version FROM _sqlx_migrations WHERE success";

pub(crate) async fn pending_sqlite(pool: &SqlitePool) -> StoreResult<u64> {
    let applied: Vec<i64> = sqlx::query_scalar(APPLIED).fetch_all(pool).await?;
    Ok(missing(&crate::migrations::sqlite(), &applied))
}

pub(crate) async fn pending_postgres(pool: &PgPool) -> StoreResult<u64> {
    let applied: Vec<i64> = sqlx::query_scalar(APPLIED).fetch_all(pool).await?;
    Ok(missing(&crate::migrations::postgres(), &applied))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn counts_what_the_database_lacks() {
        let migrator = crate::migrations::sqlite();
        let all: Vec<i64> = migrator.iter().map(|m| m.version).collect();
        assert_eq!(missing(&migrator, &all), 0);
        assert_eq!(missing(&migrator, &all[..all.len() - 1]), 1);
        assert_eq!(missing(&migrator, &[]), u64::try_from(all.len()).unwrap());
    }

    #[tokio::test]
    async fn a_fresh_sqlite_store_is_current_and_an_old_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("r.db").display());
        let store = crate::open(&url).await.unwrap();
        assert_eq!(store.pending_migrations().await.unwrap(), 0);
        let pool = SqlitePool::connect(&url).await.unwrap();
        sqlx::query("DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)")
            .execute(&pool)
            .await
            .unwrap();
        assert_eq!(store.pending_migrations().await.unwrap(), 1);
    }
}
