//! Riding out a database that goes away for a moment: a dropped connection, a restart, a
//! failover. Such failures are told apart from the ones waiting cannot cure, and an idempotent
//! operation (an insert batch dedupes on its keys; a read changes nothing) is tried again with
//! backoff. The log says once that the database went away and once that it came back, however
//! many operations were waiting meanwhile.

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{StoreError, StoreResult};

/// How long an operation keeps trying through an outage before its error is returned.
pub const OUTAGE_PATIENCE: Duration = Duration::from_secs(60);
const FIRST_PAUSE: Duration = Duration::from_millis(100);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

impl StoreError {
    /// A failure that waiting can cure: the connection dropped, the server is restarting or
    /// failing over, no connection was free in time, or a transaction lost a serialization
    /// conflict or a deadlock. A client asked to come back later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Database(e) => is_transient(e),
            StoreError::Connect(c) => c.kind.worth_waiting(),
            _ => false,
        }
    }
}

impl StoreError {
    /// The database cannot be used at all, for now or until someone acts: unreachable, gone,
    /// refusing this login, out of disk. (As opposed to a failure of one operation: corrupt
    /// data, a bug.) Transient failures are included.
    pub fn is_unavailable(&self) -> bool {
        match self {
            StoreError::Connect(_) => true,
            StoreError::Database(e) => {
                is_transient(e)
                    || matches!(e, sqlx::Error::Tls(_) | sqlx::Error::PoolClosed)
                    || matches!(e, sqlx::Error::Database(db) if db.code().is_some_and(|c| {
                        // invalid authorization, database gone, insufficient resources
                        c.starts_with("28") || c == "3D000" || c.starts_with("53")
                    }))
            }
            _ => false,
        }
    }
}

/// See [`StoreError::is_transient`].
pub fn is_transient(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => db.code().is_some_and(|code| transient_sqlstate(&code)),
        _ => false,
    }
}

/// SQLSTATEs of a connection lost or refused for now, or a transaction to run again.
fn transient_sqlstate(code: &str) -> bool {
    // Class 08: connection exception.
    code.starts_with("08")
        || matches!(
            code,
            // admin_shutdown, crash_shutdown, cannot_connect_now (restart, failover)
            "57P01" | "57P02" | "57P03"
            // serialization_failure, deadlock_detected
            | "40001" | "40P01"
            // too_many_connections: a restart can leave dead ones counted for a moment
            | "53300"
        )
}

/// A sqlx error in words: the database's own message without sqlx's "error returned from
/// database" wrapper, and what to do where the cause is the disk.
pub(crate) fn describe(e: &sqlx::Error) -> String {
    let sqlx::Error::Database(db) = e else {
        return e.to_string();
    };
    let hint = match db.code().as_deref() {
        // PostgreSQL's disk_full; SQLite's SQLITE_FULL.
        Some("53100" | "13") => {
            "; the disk holding the database is full: free space or grow the volume"
        }
        // SQLITE_READONLY and its extended codes.
        Some(code) if code.parse::<i64>().is_ok_and(|c| c & 0xff == 8) => {
            "; the database file named by DATABASE_URL, or its directory, is not writable by \
             the user running aoc"
        }
        _ => "",
    };
    format!("{}{hint}", db.message())
}

/// When the current outage began, if one is under way (process-wide: every operation that
/// meets it is the same outage for the reader of the log).
static OUTAGE: Mutex<Option<Instant>> = Mutex::new(None);

fn outage_began(what: &str, error: &StoreError) {
    let Ok(mut outage) = OUTAGE.lock() else {
        return;
    };
    if outage.is_none() {
        *outage = Some(Instant::now());
        tracing::warn!(
            "the database is unavailable ({}); {what} and whatever else needs it will keep \
             trying for up to {} s",
            root_cause(error),
            OUTAGE_PATIENCE.as_secs()
        );
    }
}

fn outage_ended() {
    let Ok(mut outage) = OUTAGE.lock() else {
        return;
    };
    if let Some(began) = outage.take() {
        tracing::info!(
            "the database is back after {:.1} s; the operations that waited went on",
            began.elapsed().as_secs_f64()
        );
    }
}

/// The innermost message, which names what happened ("terminating connection due to
/// administrator command", "connection refused").
fn root_cause(error: &StoreError) -> String {
    let mut current: &dyn std::error::Error = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

/// Run `operation` until it succeeds, fails for good, or the database has been unavailable for
/// [`OUTAGE_PATIENCE`]. Only for operations that are safe to run twice: one that failed on a
/// lost connection may have committed before the answer was lost.
pub async fn idempotent<T, F, Fut>(what: &str, operation: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    with_patience(what, OUTAGE_PATIENCE, operation).await
}

/// [`idempotent`] with an explicit patience.
pub async fn with_patience<T, F, Fut>(
    what: &str,
    patience: Duration,
    mut operation: F,
) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut failed = false;
    loop {
        match operation().await {
            Ok(value) => {
                if failed {
                    outage_ended();
                }
                return Ok(value);
            }
            Err(e) if e.is_transient() && started.elapsed() + pause <= patience => {
                if !failed {
                    failed = true;
                    outage_began(what, &e);
                }
                tracing::debug!(error = %e, what, "database operation failed; trying again");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(LONGEST_PAUSE);
            }
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn refused() -> StoreError {
        StoreError::Database(sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connection refused",
        )))
    }

    #[test]
    fn lost_connections_are_transient_and_bad_data_is_not() {
        assert!(refused().is_transient());
        assert!(StoreError::Database(sqlx::Error::PoolTimedOut).is_transient());
        assert!(!StoreError::Corrupt("x".into()).is_transient());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_transient());
        assert!(refused().is_unavailable());
        assert!(!StoreError::Corrupt("x".into()).is_unavailable());
        assert!(!StoreError::Database(sqlx::Error::RowNotFound).is_unavailable());
        for code in [
            "08006", "08001", "57P01", "57P02", "57P03", "40001", "40P01",
        ] {
            assert!(transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "28P01", "3D000", "42P01", "53100"] {
            assert!(!transient_sqlstate(code), "{code}");
        }
    }

    #[tokio::test]
    async fn a_transient_failure_is_tried_again_until_it_passes() {
        let calls = AtomicU32::new(0);
        let got = idempotent("a test", || async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(refused())
            } else {
                Ok(7)
            }
        })
        .await
        .unwrap();
        assert_eq!(got, 7);
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn a_permanent_failure_is_returned_at_once() {
        let calls = AtomicU32::new(0);
        let err = idempotent("a test", || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(StoreError::Corrupt("bad row".into()))
        })
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn patience_bounds_the_wait() {
        let started = Instant::now();
        let err = with_patience("a test", Duration::from_millis(500), || async {
            Err::<(), _>(refused())
        })
        .await
        .unwrap_err();
        assert!(err.is_transient());
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
