//! Opening the database with errors an operator can act on. A pool that cannot connect reports
//! only that it timed out; here the first connection is made by hand, so the cause (refused,
//! wrong password, missing database, TLS required, read-only file, full disk) reaches the person
//! starting AOC in one line that names `DATABASE_URL` and the likely fix.
//!
//! A PostgreSQL that is not up yet (containers start in any order) is waited for, within a
//! bounded time, with one line saying so; what waiting cannot fix fails at once.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::ConnectOptions as _;
use sqlx::postgres::PgConnectOptions;

use crate::{DatabaseUrl, EventStore, PgStore, SqliteStore, StoreError, StoreResult};

/// How long start-up waits for PostgreSQL by default (`DATABASE_STARTUP_TIMEOUT_SECONDS`).
pub const DEFAULT_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// One connection attempt never waits longer than this (a black-holed host would otherwise
/// hold start-up for the operating system's TCP timeout).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const FIRST_PAUSE: Duration = Duration::from_millis(200);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);
/// Connections in the PostgreSQL pool.
const PG_POOL_SIZE: u32 = 10;

/// How to open the store.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// How long to keep trying a PostgreSQL that refuses connections, cannot be reached or is
    /// still starting up. Zero: one attempt.
    pub startup_timeout: Duration,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self {
            startup_timeout: DEFAULT_STARTUP_TIMEOUT,
        }
    }
}

/// What kept the store from opening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Nothing listens at the host and port (yet).
    Refused,
    /// The host does not answer, or its name does not resolve (yet).
    Unreachable,
    /// PostgreSQL is starting up or shutting down.
    StartingUp,
    AuthenticationFailed,
    DatabaseMissing,
    /// The server accepts only encrypted connections.
    TlsRequired,
    /// The TLS handshake failed (certificate, or a server without TLS).
    Tls,
    /// pg_hba.conf has no entry for this client.
    NotAllowed,
    /// The SQLite file or its disk is read-only.
    ReadOnly,
    /// The SQLite file or its directory cannot be created or opened.
    NotWritable,
    DiskFull,
    Other,
}

impl ConnectFailure {
    /// Whether waiting can cure it: the server may come up. A wrong password cannot.
    pub fn worth_waiting(self) -> bool {
        matches!(self, Self::Refused | Self::Unreachable | Self::StartingUp)
    }
}

/// A store that could not be opened, said in one line.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectError {
    pub kind: ConnectFailure,
    message: String,
}

impl ConnectError {
    fn new(kind: ConnectFailure, message: String) -> Self {
        Self { kind, message }
    }
}

/// [`crate::open`] with explicit options.
pub async fn open_with(
    database_url: &str,
    options: &OpenOptions,
) -> StoreResult<Arc<dyn EventStore>> {
    match crate::parse_url(database_url)? {
        DatabaseUrl::Sqlite(path) => {
            writable_if_present(&path)?;
            let store = SqliteStore::open(&path)
                .await
                .map_err(|e| explain_sqlite(&path, e))?;
            Ok(Arc::new(store))
        }
        DatabaseUrl::Postgres => {
            let connect: PgConnectOptions = database_url.trim().parse().map_err(|e| {
                StoreError::Connect(ConnectError::new(
                    ConnectFailure::Other,
                    format!(
                        "DATABASE_URL is not a valid PostgreSQL URL ({e}); the form is \
                         postgres://user:password@host:5432/database"
                    ),
                ))
            })?;
            wait_for_postgres(&connect, options.startup_timeout).await?;
            let target = postgres_target(&connect);
            let store =
                PgStore::connect_with(connect, PG_POOL_SIZE)
                    .await
                    .map_err(|e| match e {
                        StoreError::Database(cause) if is_connect_phase(&cause) => {
                            StoreError::Connect(explain_postgres(&target, &cause))
                        }
                        other => other,
                    })?;
            Ok(Arc::new(store))
        }
    }
}

/// Errors that mean no connection was made (as opposed to a failed migration).
fn is_connect_phase(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut
    ) || matches!(e, sqlx::Error::Database(db)
        if db.code().is_some_and(|c| c.starts_with("28") || c == "3D000" || c == "57P03"))
}

/// Connect once by hand until PostgreSQL answers, for at most `patience`; the first failure
/// that waiting cannot cure is returned at once.
async fn wait_for_postgres(options: &PgConnectOptions, patience: Duration) -> StoreResult<()> {
    let target = postgres_target(options);
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut waiting = false;
    loop {
        let left = patience.saturating_sub(started.elapsed());
        let bound = left.clamp(Duration::from_secs(1), ATTEMPT_TIMEOUT);
        let failure = match tokio::time::timeout(bound, options.connect()).await {
            Ok(Ok(connection)) => {
                let _ = sqlx::Connection::close(connection).await;
                if waiting {
                    tracing::info!(
                        "PostgreSQL at {target} is up after {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
                return Ok(());
            }
            Ok(Err(e)) => explain_postgres(&target, &e),
            Err(_) => explain_postgres(
                &target,
                &sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no answer within {} s", bound.as_secs()),
                )),
            ),
        };
        let left = patience.saturating_sub(started.elapsed());
        if !failure.kind.worth_waiting() || left.is_zero() {
            if waiting {
                return Err(StoreError::Connect(ConnectError::new(
                    failure.kind,
                    format!(
                        "gave up after {:.1} s (DATABASE_STARTUP_TIMEOUT_SECONDS): {failure}",
                        started.elapsed().as_secs_f64()
                    ),
                )));
            }
            return Err(StoreError::Connect(failure));
        }
        if !waiting {
            waiting = true;
            tracing::warn!(
                "waiting for PostgreSQL at {target} ({}); will keep trying for {} s \
                 (DATABASE_STARTUP_TIMEOUT_SECONDS)",
                short_cause(failure.kind),
                patience.as_secs()
            );
        }
        // The last attempt comes when the patience runs out, not a pause before.
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// `postgres://user@host:port/database`: where DATABASE_URL points, without its password.
pub fn postgres_target(options: &PgConnectOptions) -> String {
    let database = options.get_database().unwrap_or(options.get_username());
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        database
    )
}

fn short_cause(kind: ConnectFailure) -> &'static str {
    match kind {
        ConnectFailure::Refused => "connection refused",
        ConnectFailure::Unreachable => "host unreachable",
        ConnectFailure::StartingUp => "the database system is starting up",
        _ => "not available",
    }
}

/// One line for a failed PostgreSQL connection: what, where, and what to do.
pub fn explain_postgres(target: &str, e: &sqlx::Error) -> ConnectError {
    use ConnectFailure as F;
    let at = format!("DATABASE_URL={target}");
    let (kind, message) = match e {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => (
                F::Refused,
                format!(
                    "cannot connect to PostgreSQL ({at}): connection refused; is the server \
                     running and listening on that host and port?"
                ),
            ),
            std::io::ErrorKind::TimedOut
            | std::io::ErrorKind::HostUnreachable
            | std::io::ErrorKind::NetworkUnreachable => (
                F::Unreachable,
                format!(
                    "cannot reach PostgreSQL ({at}): {io}; check the host name, the port and \
                     any firewall in between"
                ),
            ),
            std::io::ErrorKind::NotFound if io.to_string().contains("No such file") => (
                F::Refused,
                format!(
                    "cannot connect to PostgreSQL ({at}): no server socket in that directory; \
                     is the server running?"
                ),
            ),
            _ if io.to_string().contains("lookup") => (
                F::Unreachable,
                format!(
                    "cannot reach PostgreSQL ({at}): the host name does not resolve ({io}); \
                     check the host in DATABASE_URL"
                ),
            ),
            _ => (
                F::Other,
                format!("cannot connect to PostgreSQL ({at}): {io}"),
            ),
        },
        sqlx::Error::Tls(tls) => (
            F::Tls,
            format!(
                "TLS with PostgreSQL failed ({at}): {tls}; check sslmode (and sslrootcert) in \
                 DATABASE_URL against the server's TLS set-up"
            ),
        ),
        sqlx::Error::PoolTimedOut => (
            F::Unreachable,
            format!("PostgreSQL did not accept a connection in time ({at})"),
        ),
        sqlx::Error::Database(db) => {
            let text = db.message();
            match db.code().as_deref().unwrap_or("") {
                "28P01" => (
                    F::AuthenticationFailed,
                    format!(
                        "PostgreSQL refused the login ({at}): {text}; check the user name and \
                         password in DATABASE_URL"
                    ),
                ),
                "3D000" => (
                    F::DatabaseMissing,
                    format!(
                        "PostgreSQL has no such database ({at}): {text}; create it (createdb) \
                         or fix the database name in DATABASE_URL"
                    ),
                ),
                "28000" if text.contains("no encryption") => (
                    F::TlsRequired,
                    format!(
                        "PostgreSQL accepts only encrypted connections ({at}): {text}; add \
                         ?sslmode=require to DATABASE_URL"
                    ),
                ),
                "28000" => (
                    F::NotAllowed,
                    format!(
                        "PostgreSQL does not let this client in ({at}): {text}; the server's \
                         pg_hba.conf needs an entry for this host, user and database"
                    ),
                ),
                "57P03" => (
                    F::StartingUp,
                    format!("PostgreSQL is not accepting connections yet ({at}): {text}"),
                ),
                "53300" => (
                    F::Other,
                    format!(
                        "PostgreSQL has no connection slot left ({at}): {text}; raise \
                         max_connections or stop other clients"
                    ),
                ),
                _ => (F::Other, format!("cannot use PostgreSQL ({at}): {text}")),
            }
        }
        other => (F::Other, format!("cannot use PostgreSQL ({at}): {other}")),
    };
    ConnectError::new(kind, message)
}

/// SQLite result codes (the low byte of an extended code).
const SQLITE_READONLY: i64 = 8;
const SQLITE_FULL: i64 = 13;
const SQLITE_CANTOPEN: i64 = 14;
const SQLITE_NOTADB: i64 = 26;

/// A failed SQLite open said as what to do; other errors pass through unchanged.
pub fn explain_sqlite(path: &Path, e: StoreError) -> StoreError {
    use ConnectFailure as F;
    let at = format!("DATABASE_URL=sqlite://{}", path.display());
    let explained = match &e {
        StoreError::Database(sqlx::Error::Database(db)) => {
            let primary = db
                .code()
                .and_then(|c| c.parse::<i64>().ok())
                .map(|c| c & 0xff);
            let text = db.message();
            match primary {
                Some(SQLITE_READONLY) => Some((
                    F::ReadOnly,
                    format!(
                        "the SQLite database is read-only ({at}): {text}; make the file, its \
                         directory and its -wal/-shm files writable by the user running aoc, or \
                         point DATABASE_URL at a writable place"
                    ),
                )),
                Some(SQLITE_CANTOPEN) => Some((
                    F::NotWritable,
                    format!(
                        "cannot open the SQLite database ({at}): {text}; check that its \
                         directory exists and is writable by the user running aoc"
                    ),
                )),
                Some(SQLITE_FULL) => Some((F::DiskFull, disk_full(&at))),
                Some(SQLITE_NOTADB) => Some((
                    F::Other,
                    format!("the file is not a SQLite database ({at}): {text}"),
                )),
                _ => None,
            }
        }
        StoreError::Database(sqlx::Error::Io(io)) => Some(match io.kind() {
            std::io::ErrorKind::StorageFull => (F::DiskFull, disk_full(&at)),
            std::io::ErrorKind::ReadOnlyFilesystem => (
                F::ReadOnly,
                format!("the SQLite database is on a read-only file system ({at}): {io}"),
            ),
            _ => (
                F::NotWritable,
                format!("cannot open the SQLite database ({at}): {io}"),
            ),
        }),
        _ => None,
    };
    match explained {
        Some((kind, message)) => StoreError::Connect(ConnectError::new(kind, message)),
        None => e,
    }
}

/// SQLite opens a file it may not write read-only without a word, and the first insert fails
/// much later; so ask the file system first.
fn writable_if_present(path: &Path) -> StoreResult<()> {
    match std::fs::OpenOptions::new().write(true).open(path) {
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            ) =>
        {
            Err(StoreError::Connect(ConnectError::new(
                ConnectFailure::ReadOnly,
                format!(
                    "the SQLite database is read-only (DATABASE_URL=sqlite://{}): {e}; make the \
                     file and its directory writable by the user running aoc, or point \
                     DATABASE_URL at a writable place",
                    path.display()
                ),
            )))
        }
        // Missing (it is created), or something SQLite will name better.
        _ => Ok(()),
    }
}

fn disk_full(at: &str) -> String {
    format!("the disk holding the database is full ({at}); free space or grow the volume")
}

/// The SQLite database's directory could not be created.
pub(crate) fn directory_error(dir: &Path, e: &std::io::Error) -> StoreError {
    let kind = match e.kind() {
        std::io::ErrorKind::StorageFull => ConnectFailure::DiskFull,
        std::io::ErrorKind::ReadOnlyFilesystem => ConnectFailure::ReadOnly,
        _ => ConnectFailure::NotWritable,
    };
    StoreError::Connect(ConnectError::new(
        kind,
        format!(
            "cannot create {}, the directory of the SQLite database named by DATABASE_URL: \
             {e}; create it, or point DATABASE_URL at a writable place",
            dir.display()
        ),
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    async fn open_err(url: &str, options: &OpenOptions) -> StoreError {
        match open_with(url, options).await {
            Ok(_) => panic!("{url} opened"),
            Err(e) => e,
        }
    }

    fn io(kind: std::io::ErrorKind) -> sqlx::Error {
        sqlx::Error::Io(std::io::Error::new(kind, "os error"))
    }

    #[test]
    fn only_a_server_that_is_not_up_yet_is_waited_for() {
        let refused = explain_postgres(
            "postgres://u@h:1/d",
            &io(std::io::ErrorKind::ConnectionRefused),
        );
        assert_eq!(refused.kind, ConnectFailure::Refused);
        assert!(refused.kind.worth_waiting());
        assert!(
            refused
                .to_string()
                .contains("DATABASE_URL=postgres://u@h:1/d")
        );
        let unreachable = explain_postgres("t", &io(std::io::ErrorKind::HostUnreachable));
        assert!(unreachable.kind.worth_waiting());
        let tls = explain_postgres("t", &sqlx::Error::Tls("server does not support TLS".into()));
        assert_eq!(tls.kind, ConnectFailure::Tls);
        assert!(!tls.kind.worth_waiting());
        assert!(tls.to_string().contains("sslmode"));
    }

    #[test]
    fn targets_never_carry_the_password() {
        let options: PgConnectOptions =
            "postgres://ann:s3cret@db.example:6543/aoc".parse().unwrap();
        assert_eq!(
            postgres_target(&options),
            "postgres://ann@db.example:6543/aoc"
        );
    }

    #[tokio::test]
    async fn a_missing_directory_that_cannot_be_created_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        // A directory below a regular file cannot exist, whoever runs the test.
        let url = format!("sqlite://{}", file.join("sub").join("aoc.db").display());
        let err = open_err(&url, &OpenOptions::default()).await;
        let text = err.to_string();
        assert!(
            matches!(&err, StoreError::Connect(c) if c.kind == ConnectFailure::NotWritable),
            "{text}"
        );
        assert!(
            text.contains("DATABASE_URL") && text.contains("sub"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_refused_postgres_fails_at_once_without_patience() {
        // A port nothing listens on: bind one, then free it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://aoc:secret@127.0.0.1:{port}/aoc");
        let started = Instant::now();
        let err = open_err(
            &url,
            &OpenOptions {
                startup_timeout: Duration::ZERO,
            },
        )
        .await;
        assert!(started.elapsed() < Duration::from_secs(5));
        let text = err.to_string();
        assert!(text.contains("connection refused"), "{text}");
        assert!(!text.contains("secret"), "{text}");
    }

    #[tokio::test]
    async fn a_refused_postgres_is_retried_until_the_patience_runs_out() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("postgres://aoc@127.0.0.1:{port}/aoc");
        let started = Instant::now();
        let options = OpenOptions {
            startup_timeout: Duration::from_secs(2),
        };
        let err = open_err(&url, &options).await;
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(2), "{waited:?}");
        assert!(waited < Duration::from_secs(5), "{waited:?}");
        assert!(err.to_string().contains("gave up after"), "{err}");
    }
}
