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
