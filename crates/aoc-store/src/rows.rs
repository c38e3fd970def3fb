//! Row mappings both backends share. Source health, cached names and the activity log are
//! selected under the same column names on SQLite and PostgreSQL, with timestamps as integer
//! microseconds (`*_us`), so one mapping reads either backend's rows.

pub(crate) mod alerting;

use chrono::{DateTime, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use crate::activity::Activity;
use crate::codec::from_micros;
use crate::{CachedName, SourceHealth, StoreError, StoreResult};

/// Reading text and 64-bit integers by column name, whatever the backend.
pub(crate) trait ReadColumns {
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    fn text_or_null(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    fn int_or_null(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
}

impl<R> ReadColumns for R
where
    R: Row,
    for<'n> &'n str: ColumnIndex<R>,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> i64: Decode<'r, R::Database> + Type<R::Database>,
{
    fn text(&self, column: &str) -> Result<String, sqlx::Error> {
        self.try_get(column)
    }

    fn text_or_null(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.try_get(column)
    }

    fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
        self.try_get(column)
    }

    fn int_or_null(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.try_get(column)
    }
}

pub(crate) fn corrupt_time(what: &str, us: i64) -> StoreError {
    StoreError::Corrupt(format!("{what}: timestamp out of range: {us}"))
}

/// A stored microsecond timestamp; `what` names the table in the error.
pub(crate) fn time(what: &str, us: i64) -> StoreResult<DateTime<Utc>> {
    from_micros(us).ok_or_else(|| corrupt_time(what, us))
}

/// `source, last_attempt_us, last_success_us, last_error, last_count`.
pub(crate) fn source_health(row: &impl ReadColumns) -> StoreResult<SourceHealth> {
    let time_or_null = |column: &str| -> StoreResult<Option<DateTime<Utc>>> {
        row.int_or_null(column)?
            .map(|us| time("source health", us))
            .transpose()
    };
    Ok(SourceHealth {
        source: row.text("source")?,
        last_attempt: time_or_null("last_attempt_us")?,
        last_success: time_or_null("last_success_us")?,
        last_error: row.text_or_null("last_error")?,
        last_count: u64::try_from(row.int("last_count")?).unwrap_or(0),
    })
}

/// `object_id, display_name, expires_at_us`.
pub(crate) fn cached_name(row: &impl ReadColumns) -> StoreResult<CachedName> {
    Ok(CachedName {
        object_id: row.text("object_id")?,
        display_name: row.text("display_name")?,
        expires_at: time("name cache", row.int("expires_at_us")?)?,
    })
}

/// `id, at_us, actor, subject, action, target, detail` (detail is JSON text).
pub(crate) fn activity(row: &impl ReadColumns) -> StoreResult<Activity> {
    let detail = row.text("detail")?;
    Ok(Activity {
        id: row.int("id")?,
        at: time("activity", row.int("at_us")?)?,
        actor: row.text("actor")?,
        subject: row.text_or_null("subject")?,
        action: row.text("action")?,
        target: row.text_or_null("target")?,
        detail: serde_json::from_str(&detail)
            .map_err(|e| StoreError::Corrupt(format!("activity detail: {e}")))?,
    })
}
